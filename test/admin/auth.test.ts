import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SECURITY_HEADERS, clientAddress } from '../../src/admin/http.ts';
import type { HttpRequest } from '../../src/core/http.ts';
import { startTestRedis, type TestRedis } from '../support/redis.ts';
import { ADMIN_PASSWORD, createAnalyst, handle, nextCode, setupAdmin, startRig, type AdminRig, type SessionHandle } from './support.ts';

describe('admin sign-in: setup token, TOTP, sessions, lockout', () => {
  let redis: TestRedis;
  let rig: AdminRig;
  let admin: { session: SessionHandle; secret: string };

  beforeAll(async () => {
    redis = await startTestRedis();
    rig = await startRig(redis.url, { admin: { login: { maxFailures: 3, lockoutMinutes: 1, maxAttemptsPerMinute: 50 } } });
  });
  afterAll(async () => {
    await rig?.stop();
    await redis?.stop();
  });

  it('offers setup until the first admin exists, and the token works once', async () => {
    expect(rig.admin.setupToken).toMatch(/^setup_/);
    expect((await rig.call('GET', '/auth/status')).json()).toMatchObject({ setupRequired: true, localLogin: true, oidc: { enabled: false } });
    const wrong = await rig.call('POST', '/auth/setup', { body: { token: 'setup_wrongwrongwrongwrong', username: 'eve', password: ADMIN_PASSWORD } });
    expect(wrong.status).toBe(403);
    admin = await setupAdmin(rig);
    expect(admin.session.body).toMatchObject({ stage: 'active', user: { username: 'root', role: 'admin', totpEnrolled: true } });
    const again = await rig.call('POST', '/auth/setup', { body: { token: rig.admin.setupToken, username: 'eve', password: ADMIN_PASSWORD } });
    expect(again.status).toBe(403);
    expect((await rig.call('GET', '/auth/status')).json()).toMatchObject({ setupRequired: false });
  });

  it('a session cookie is HttpOnly, SameSite=Strict and Secure outside development mode', async () => {
    const r = await rig.call('POST', '/auth/login', { body: { username: 'root', password: ADMIN_PASSWORD } });
    expect(r.headers['set-cookie']).toMatch(/^parley_admin=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict; Secure; Max-Age=\d+$/);
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) expect(r.headers[k]).toBe(v);
  });

  it('an admin with TOTP needs the second factor before anything else, and a code works once', async () => {
    const pending = handle(await rig.call('POST', '/auth/login', { body: { username: 'root', password: ADMIN_PASSWORD } }));
    expect(pending.body.stage).toBe('totp');
    expect((await rig.call('GET', '/federations', { session: pending })).status).toBe(401);
    const code = nextCode(admin.secret);
    const active = handle(await rig.call('POST', '/auth/login/totp', { session: pending, body: { code } }));
    expect(active.body.stage).toBe('active');
    expect(active.cookie).not.toBe(pending.cookie);
    expect(active.csrf).not.toBe(pending.csrf);
    expect((await rig.call('GET', '/auth/session', { session: pending })).status).toBe(401);
    expect((await rig.call('GET', '/federations', { session: active })).status).toBe(200);
    // The same code again (replay) is refused.
    const second = handle(await rig.call('POST', '/auth/login', { body: { username: 'root', password: ADMIN_PASSWORD } }));
    expect((await rig.call('POST', '/auth/login/totp', { session: second, body: { code } })).status).toBe(401);
    // Sign out: the session is gone.
    expect((await rig.call('POST', '/auth/logout', { session: active })).status).toBe(200);
    expect((await rig.call('GET', '/auth/session', { session: active })).status).toBe(401);
  });

  it('an analyst signs in with a password alone and is limited to reports', async () => {
    const analyst = await createAnalyst(rig, admin.session);
    expect(analyst.body).toMatchObject({ stage: 'active', user: { role: 'analyst' } });
    expect((await rig.call('GET', '/reports', { session: analyst })).status).toBe(200);
    expect((await rig.call('GET', '/federations', { session: analyst })).status).toBe(403);
    expect((await rig.call('POST', '/federations', { session: analyst, body: { domain: 'x.example', action: 'block' } })).status).toBe(403);
  });

  it('an expired or idle session is refused', async () => {
    const s = await createAnalyst(rig, admin.session, 'ana2');
    const r = new Redis(redis.url);
    try {
      const prefix = (rig.hub.hub as unknown as { config: { redis: { keyPrefix: string } } }).config.redis.keyPrefix;
      const id = s.cookie.split('=')[1] as string;
      const key = `${prefix}:admin:session:${createHash('sha256').update(id).digest('hex')}`;
      const stored = JSON.parse((await r.get(key)) as string) as { expiresAt: number };
      await r.set(key, JSON.stringify({ ...stored, expiresAt: Date.now() - 1 }), 'PX', 60_000);
      expect((await rig.call('GET', '/reports', { session: s })).status).toBe(401);
      expect(await r.exists(key)).toBe(0);

      // Idle: last seen longer ago than the idle timeout (30 min default), though not expired.
      const idle = await createAnalyst(rig, admin.session, 'ana3');
      const idleKey = `${prefix}:admin:session:${createHash('sha256').update(idle.cookie.split('=')[1] as string).digest('hex')}`;
      expect((await rig.call('GET', '/reports', { session: idle })).status).toBe(200);
      const live = JSON.parse((await r.get(idleKey)) as string) as { lastSeen: number };
      await r.set(idleKey, JSON.stringify({ ...live, lastSeen: Date.now() - 31 * 60_000 }), 'PX', 60_000);
      expect((await rig.call('GET', '/reports', { session: idle })).status).toBe(401);
    } finally {
      r.disconnect();
    }
  });

  it('locks an account after repeated failures, even for the right password', async () => {
    await rig.call('POST', '/accounts', { session: admin.session, body: { username: 'victim', password: ADMIN_PASSWORD, role: 'analyst' } });
    const bad = (): Promise<{ status: number }> => rig.call('POST', '/auth/login', { body: { username: 'victim', password: 'wrong password here' } });
    expect((await bad()).status).toBe(401);
    expect((await bad()).status).toBe(401);
    const third = await bad();
    expect(third.status).toBe(423);
    const right = await rig.call('POST', '/auth/login', { body: { username: 'victim', password: ADMIN_PASSWORD } });
    expect(right.status).toBe(423);
    expect(Number(right.headers['retry-after'])).toBeGreaterThan(0);
    const list = (await rig.call('GET', '/accounts', { session: admin.session })).json<{ accounts: Array<{ username: string; lockedUntil?: number }> }>();
    expect(list.accounts.find((a) => a.username === 'victim')?.lockedUntil).toBeGreaterThan(Date.now());
  });

  it('rate-limits sign-in attempts per username', async () => {
    const statuses: number[] = [];
    // The windows are calendar minutes: 2 x 50 + 1 attempts put more than 50 into one window even when the run straddles a minute boundary.
    for (let i = 0; i < 101; i++) statuses.push((await rig.call('POST', '/auth/login', { body: { username: 'nobody', password: 'x' } })).status);
    expect(statuses).toContain(429);
  });

  it('rate-limits sign-in attempts per client address, across usernames, and believes X-Forwarded-For only from a trusted proxy', async () => {
    const attempt = (username: string, remoteAddress: string, headers: Record<string, string> = {}) =>
      rig.call('POST', '/auth/login', { body: { username, password: 'x' }, remoteAddress, headers }).then((r) => r.status);
    // One address spraying a new username each time: every username window stays at 1, the address's fills.
    const sprayer: number[] = [];
    for (let i = 0; i < 101; i++) sprayer.push(await attempt(`spray${i}`, '203.0.113.7'));
    expect(sprayer).toContain(429);
    expect(sprayer.slice(0, 40).every((s) => s === 401)).toBe(true);
    // Another address is not throttled by the first one's attempts; nor is a spoofed X-Forwarded-For from an untrusted peer believed.
    expect(await attempt('spray-other', '198.51.100.9', { 'x-forwarded-for': '203.0.113.7' })).toBe(401);
    expect(await attempt('spray-v6', '::ffff:198.51.100.10')).toBe(401);
  });

  it('attributes a request to its client: the peer, or the last untrusted X-Forwarded-For hop behind a trusted proxy', () => {
    const req = (remoteAddress: string | undefined, xff?: string): HttpRequest => ({
      method: 'POST', path: '/', query: '', body: Buffer.alloc(0), headers: xff ? { 'x-forwarded-for': xff } : {}, ...(remoteAddress ? { remoteAddress } : {}),
    });
    const proxies = ['10.0.0.2', '10.0.0.3'];
    expect(clientAddress(req('203.0.113.7'), proxies)).toBe('203.0.113.7');
    expect(clientAddress(req('203.0.113.7', '1.2.3.4'), proxies)).toBe('203.0.113.7'); // untrusted peer: header ignored
    expect(clientAddress(req('10.0.0.2', '6.6.6.6, 198.51.100.9'), proxies)).toBe('198.51.100.9'); // the client's own claim (6.6.6.6) is not believed
    expect(clientAddress(req('10.0.0.2', '198.51.100.9, 10.0.0.3'), proxies)).toBe('198.51.100.9'); // two proxies
    expect(clientAddress(req('10.0.0.2', 'garbage'), proxies)).toBe('10.0.0.2');
    expect(clientAddress(req('10.0.0.2'), proxies)).toBe('10.0.0.2');
    expect(clientAddress(req('::ffff:203.0.113.7'), proxies)).toBe('203.0.113.7');
    // uWS writes IPv6 peers with all eight groups; a proxy listed in any spelling matches.
    expect(clientAddress(req('0000:0000:0000:0000:0000:ffff:0a00:0002', '198.51.100.9'), proxies)).toBe('198.51.100.9');
    expect(clientAddress(req('0000:0000:0000:0000:0000:0000:0000:0001', '198.51.100.9'), ['::1'])).toBe('198.51.100.9');
    expect(clientAddress(req('2001:0db8:0000:0000:0000:0000:0000:0007'), proxies)).toBe('2001:db8::7');
    expect(clientAddress(req(undefined), proxies)).toBeUndefined();
  });

  it('an admin without TOTP must enrol before reaching the API', async () => {
    await rig.call('POST', '/accounts', { session: admin.session, body: { username: 'admin2', password: ADMIN_PASSWORD, role: 'admin' } });
    const s = handle(await rig.call('POST', '/auth/login', { body: { username: 'admin2', password: ADMIN_PASSWORD } }));
    expect(s.body.stage).toBe('enrol');
    expect((await rig.call('GET', '/users', { session: s })).status).toBe(401);
    const enrol = await rig.call('POST', '/auth/totp/enrol', { session: s });
    const e = enrol.json<{ uri: string; secret: string }>();
    expect(e.uri).toMatch(/^otpauth:\/\/totp\/Parley:admin2\?/);
    expect((await rig.call('POST', '/auth/totp/confirm', { session: s, body: { code: '000000' === nextCode(e.secret, 0) ? '111111' : '000000' } })).status).toBe(401);
    const active = handle(await rig.call('POST', '/auth/totp/confirm', { session: s, body: { code: nextCode(e.secret, 0) } }));
    expect((await rig.call('GET', '/users', { session: active })).status).toBe(200);
  });

  it('records sign-in changes in the audit log', async () => {
    const audit = (await rig.call('GET', '/audit?action=account.create', { session: admin.session })).json<{ entries: Array<{ actor: string; target: string }> }>();
    expect(audit.entries.map((e) => e.target)).toEqual(expect.arrayContaining(['ana', 'victim', 'admin2']));
    expect(audit.entries.every((e) => e.actor === 'root')).toBe(true);
  });
});
