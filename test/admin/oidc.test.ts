import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/state/managed-redis.ts';
import { startIdp, type TestIdp } from '../support/oidc-provider.ts';
import { startTestRedis, type TestRedis } from '../support/redis.ts';
import { cookieOf, startRig, type AdminRig } from './support.ts';

const GROUPS: Record<string, string[]> = { alice: ['staff', 'parley-admins'], bob: ['parley-analysts'], carol: ['staff'] };

describe('sign-in through OpenID Connect (authorization code + PKCE) against a real provider', () => {
  let redis: TestRedis;
  let rig: AdminRig;
  let idp: TestIdp;
  const redirectUri = 'http://127.0.0.1:3979/admin/api/v1/auth/oidc/callback';

  beforeAll(async () => {
    redis = await startTestRedis();
    idp = await startIdp(await freePort(), redirectUri, GROUPS, 'parley-secret-parley-secret-parley-secret');
    rig = await startRig(redis.url, {
      admin: {
        oidc: {
          issuer: idp.issuer, clientId: 'parley', clientSecret: 'parley-secret-parley-secret-parley-secret', redirectUri,
          scopes: 'openid profile groups', adminGroup: 'parley-admins', analystGroup: 'parley-analysts', allowInsecure: true, name: 'Test IdP',
        },
      },
    });
  });
  afterAll(async () => {
    await rig?.stop();
    await idp?.close();
    await redis?.stop();
  });

  /** Follows the browser's path: start -> provider -> (login) -> back to the callback with code and state. */
  async function signIn(account: string): Promise<{ status: number; cookie?: string; location?: string; text: string }> {
    idp.choose(account);
    const start = await rig.call('GET', '/auth/oidc/start');
    expect(start.status).toBe(302);
    const stateCookie = (start.headers['set-cookie'] ?? '').split(';')[0] as string;
    expect(start.headers['set-cookie']).toMatch(/HttpOnly; SameSite=Lax/);
    const jar = new Map<string, string>();
    let url = start.headers.location as string;
    expect(url).toContain('code_challenge_method=S256');
    for (let hops = 0; hops < 10 && !url.startsWith(redirectUri); hops++) {
      const res = await fetch(url, { redirect: 'manual', headers: { cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; ') } });
      for (const c of res.headers.getSetCookie()) {
        const [pair] = c.split(';');
        const eq = (pair as string).indexOf('=');
        jar.set((pair as string).slice(0, eq), (pair as string).slice(eq + 1));
      }
      const loc = res.headers.get('location');
      if (!loc) throw new Error(`provider stopped at ${res.status}: ${await res.text()}`);
      url = new URL(loc, url).href;
    }
    const back = new URL(url);
    const cb = await rig.call('GET', `/auth/oidc/callback${back.search}`, { headers: { cookie: stateCookie, 'sec-fetch-site': 'cross-site' } });
    return { status: cb.status, text: cb.text, ...(cb.headers.location ? { location: cb.headers.location } : {}), ...(cb.headers['set-cookie'] ? { cookie: cookieOf(cb) } : {}) };
  }

  it('the admin group signs in as admin and can change things', async () => {
    expect((await rig.call('GET', '/auth/status')).json()).toMatchObject({ oidc: { enabled: true, name: 'Test IdP' } });
    const r = await signIn('alice');
    expect(r.status).toBe(302);
    expect(r.location).toBe('/portal/');
    const session = (await rig.call('GET', '/auth/session', { headers: { cookie: r.cookie as string } })).json<{ stage: string; csrfToken: string; user: { role: string; username: string; source: string } }>();
    expect(session).toMatchObject({ stage: 'active', user: { role: 'admin', username: 'alice', source: 'oidc' } });
    const created = await rig.call('POST', '/federations', { session: { cookie: r.cookie as string, csrf: session.csrfToken, body: session as never }, body: { domain: 'oidc.example', action: 'block' } });
    expect(created.status).toBe(201);
  });

  it('the analyst group signs in as analyst: reports yes, changes no', async () => {
    const r = await signIn('bob');
    const session = (await rig.call('GET', '/auth/session', { headers: { cookie: r.cookie as string } })).json<{ csrfToken: string; user: { role: string } }>();
    expect(session.user.role).toBe('analyst');
    const handle = { cookie: r.cookie as string, csrf: session.csrfToken, body: session as never };
    expect((await rig.call('GET', '/reports', { session: handle })).status).toBe(200);
    expect((await rig.call('GET', '/federations', { session: handle })).status).toBe(403);
    expect((await rig.call('POST', '/federations', { session: handle, body: { domain: 'no.example', action: 'block' } })).status).toBe(403);
  });

  it('someone in neither group is refused, and a callback cannot be replayed', async () => {
    const r = await signIn('carol');
    expect(r.status).toBe(403);
    expect(r.cookie).toBeUndefined();
    expect(r.text).toContain('neither');
    const replay = await rig.call('GET', '/auth/oidc/callback?code=x&state=y', { headers: { cookie: 'parley_oidc=unknown' } });
    expect(replay.status).toBe(403);
  });
});
