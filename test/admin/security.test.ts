import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AnyRoute } from '../../src/admin/api.ts';
import { SECURITY_HEADERS } from '../../src/admin/http.ts';
import { API_PREFIX } from '../../src/admin/schemas.ts';
import { startTestRedis, type TestRedis } from '../support/redis.ts';
import { createAnalyst, createToken, setupAdmin, startRig, type AdminRig, type SessionHandle } from './support.ts';

const MUTATING = new Set(['POST', 'PUT', 'DELETE']);

/** A body and query that pass validation where the route wants one, so refusals come from the guard. */
function sample(r: AnyRoute): { path: string; body?: unknown } {
  const path = r.path;
  const bodies: Record<string, unknown> = {
    'POST /federations': { domain: 'sample.example', action: 'allow' },
    'PUT /federations': { action: 'block' },
    'PUT /federations/default': { defaultAction: 'allow' },
    'PUT /users/federation': { enabled: true },
    'POST /users/contacts/revoke': { user: 'u@parley.local', platform: 'xmpp', address: 'x@partner.example' },
    'POST /dead-letters/replay': { connector: 'loopback', ids: ['1'] },
    'POST /dead-letters/discard': { connector: 'loopback', ids: ['1'] },
    'POST /accounts': { username: 'someone', password: 'a long enough password', role: 'analyst' },
    'POST /tokens': { name: 'n', scopes: ['read'] },
    'POST /auth/login/totp': { code: '123456' },
    'POST /auth/totp/confirm': { code: '123456' },
  };
  const queries: Record<string, string> = {
    'PUT /federations': '?domain=sample.example',
    'DELETE /federations': '?domain=sample.example',
    'PUT /users/federation': '?id=u@parley.local',
    'GET /users/contacts': '?id=u@parley.local',
    'DELETE /accounts': '?id=x',
    'DELETE /tokens': '?id=x',
  };
  const key = `${r.method} ${path}`;
  return { path: `${path}${queries[key] ?? ''}`, ...(bodies[key] !== undefined ? { body: bodies[key] } : r.body ? { body: {} } : {}) };
}

describe('admin API guards on every route', () => {
  let redis: TestRedis;
  let rig: AdminRig;
  let admin: SessionHandle;
  let analyst: SessionHandle;
  let protectedRoutes: AnyRoute[];

  beforeAll(async () => {
    redis = await startTestRedis();
    rig = await startRig(redis.url);
    admin = (await setupAdmin(rig)).session;
    analyst = await createAnalyst(rig, admin);
    protectedRoutes = rig.admin.routes.filter((r) => r.access !== 'public');
    expect(protectedRoutes.length).toBeGreaterThan(25);
  });
  afterAll(async () => {
    await rig?.stop();
    await redis?.stop();
  });

  it('refuses every protected route without a session (401)', async () => {
    for (const r of protectedRoutes) {
      const s = sample(r);
      const res = await rig.call(r.method, s.path, { body: s.body });
      expect.soft(res.status, `${r.method} ${r.path}`).toBe(401);
    }
  });

  it('refuses an unknown or forged session cookie (401)', async () => {
    const forged: SessionHandle = { ...admin, cookie: `parley_admin=${'A'.repeat(43)}` };
    for (const r of protectedRoutes) {
      const s = sample(r);
      expect.soft((await rig.call(r.method, s.path, { body: s.body, session: forged })).status, `${r.method} ${r.path}`).toBe(401);
    }
  });

  it('refuses every state-changing route without the CSRF token, or with a wrong one (403)', async () => {
    for (const r of protectedRoutes.filter((x) => MUTATING.has(x.method))) {
      const s = sample(r);
      const missing = await rig.call(r.method, s.path, { body: s.body, session: admin, csrf: '' });
      expect.soft(missing.status, `${r.method} ${r.path} without CSRF`).toBe(403);
      expect.soft(missing.json<{ error: { code: string } }>().error.code).toBe('CSRF');
      const wrong = await rig.call(r.method, s.path, { body: s.body, session: admin, csrf: analyst.csrf });
      expect.soft(wrong.status, `${r.method} ${r.path} wrong CSRF`).toBe(403);
    }
  });

  it('refuses the analyst role everywhere but reports and its own session (403)', async () => {
    for (const r of protectedRoutes) {
      if (r.access === 'session' || r.access === 'public') continue;
      const s = sample(r);
      const res = await rig.call(r.method, s.path, { body: s.body, session: analyst });
      if (r.access.roles.includes('analyst')) expect.soft(res.status, `${r.method} ${r.path}`).not.toBe(403);
      else expect.soft(res.status, `${r.method} ${r.path}`).toBe(403);
    }
  });

  it('refuses cross-origin requests on every route, public ones included (403), and foreign Hosts (421)', async () => {
    for (const r of rig.admin.routes) {
      // The OIDC callback is the one exception: the provider sends the browser back by a cross-site GET navigation (state + PKCE protect it).
      if (r.crossSiteNavigation) {
        expect(r.method).toBe('GET');
        continue;
      }
      const s = sample(r);
      const cross = await rig.call(r.method, s.path, { body: s.body, session: admin, headers: { origin: 'https://evil.example' } });
      expect.soft(cross.status, `${r.method} ${r.path} Origin`).toBe(403);
      const site = await rig.call(r.method, s.path, { body: s.body, session: admin, headers: { 'sec-fetch-site': 'cross-site' } });
      expect.soft(site.status, `${r.method} ${r.path} Sec-Fetch-Site`).toBe(403);
    }
    const rebound = await rig.call('GET', '/auth/status', { headers: { host: 'evil.example:3979' } });
    expect(rebound.status).toBe(421);
    const same = await rig.call('GET', '/auth/status', { headers: { origin: `http://${rig.host}`, 'sec-fetch-site': 'same-origin' } });
    expect(same.status).toBe(200);
  });

  it('API tokens: read scope reads, write scope writes, neither reaches accounts or tokens', async () => {
    const read = await createToken(rig, admin, ['read']);
    const write = await createToken(rig, admin, ['read', 'write']);
    expect((await rig.call('GET', '/federations', { token: read })).status).toBe(200);
    expect((await rig.call('GET', '/federations', { token: await createToken(rig, admin, ['write']) })).status).toBe(200);
    expect((await rig.call('POST', '/federations', { token: read, body: { domain: 'tok.example', action: 'block' } })).status).toBe(403);
    expect((await rig.call('POST', '/federations', { token: write, body: { domain: 'tok.example', action: 'block' } })).status).toBe(201);
    expect((await rig.call('GET', '/tokens', { token: write })).status).toBe(403);
    expect((await rig.call('POST', '/accounts', { token: write, body: { username: 'x12', password: 'a long enough password', role: 'admin' } })).status).toBe(403);
    expect((await rig.call('GET', '/federations', { token: `${read.slice(0, -4)}AAAA` })).status).toBe(401);
    const listed = (await rig.call('GET', '/tokens', { session: admin })).text;
    expect(listed).not.toContain(read.split('.')[1]);
    const audit = (await rig.call('GET', '/audit?action=federation.create', { session: admin })).json<{ entries: Array<{ actor: string }> }>();
    expect(audit.entries[0]?.actor).toBe('token:t-read-write');
    const id = (await rig.call('GET', '/tokens', { session: admin })).json<{ tokens: Array<{ id: string; name: string }> }>().tokens.find((t) => t.name === 't-read')?.id;
    expect((await rig.call('DELETE', `/tokens?id=${id}`, { session: admin })).status).toBe(200);
    expect((await rig.call('GET', '/federations', { token: read })).status).toBe(401);
  });

  it('a domain label with markup round-trips as data, served as JSON with nosniff', async () => {
    const label = '<img src=x onerror=alert(1)>';
    const created = await rig.call('POST', '/federations', { session: admin, body: { domain: 'xss.example', action: 'allow', label } });
    expect(created.status).toBe(201);
    const list = await rig.call('GET', '/federations', { session: admin });
    expect(list.headers['content-type']).toMatch(/^application\/json/);
    expect(list.headers['x-content-type-options']).toBe('nosniff');
    expect(list.json<{ domains: Array<{ domain: string; label?: string }> }>().domains.find((d) => d.domain === 'xss.example')?.label).toBe(label);
  });

  it('puts the security headers on every answer, unknown paths included', async () => {
    for (const path of ['/auth/status', '/federations', '/nope', '/admin/api/openapi.json', '/portal/x']) {
      const res = await rig.call('GET', path, { session: admin });
      for (const [k, v] of Object.entries(SECURITY_HEADERS)) expect.soft(res.headers[k], `${path} ${k}`).toBe(v);
    }
    expect(SECURITY_HEADERS['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(SECURITY_HEADERS['content-security-policy']).not.toContain('unsafe-inline');
  });

  it('refuses non-JSON bodies (no form posts)', async () => {
    const res = await rig.call('POST', '/federations', {
      session: admin,
      body: { domain: 'form.example', action: 'block' },
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(res.status).toBe(415);
    expect(API_PREFIX).toBe('/admin/api/v1');
  });
});
