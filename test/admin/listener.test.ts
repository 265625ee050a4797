import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type App } from '../../src/app.ts';
import { currentTotp } from '../../src/admin/totp.ts';
import { parseConfig } from '../../src/config/load.ts';
import { im, teamsUser, until, xmppUser } from '../support/hub.ts';
import { startTestRedis, type TestRedis } from '../support/redis.ts';
import { OpenApiContract } from './contract.ts';

/** A real Parley (chDB analytics) with its admin listener, over real sockets. */
describe('the admin listener of a running Parley', () => {
  let redis: TestRedis;
  let app: App;
  let dataDir: string;
  let pub: string;
  let adm: string;
  let cookie = '';
  let csrf = '';
  const seen: Array<{ method: string; path: string; status: number; body: unknown }> = [];

  const call = async (method: string, p: string, body?: unknown, base = adm): Promise<{ status: number; body: unknown; text: string; headers: Headers }> => {
    const headers: Record<string, string> = {};
    if (cookie) headers.cookie = cookie;
    if (csrf && method !== 'GET') headers['x-csrf-token'] = csrf;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${base}${p}`, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}), redirect: 'manual' });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // CSV or empty
    }
    const set = res.headers.get('set-cookie');
    if (set?.startsWith('parley_admin=')) cookie = set.split(';')[0] as string;
    if (base === adm && (res.headers.get('content-type') ?? '').startsWith('application/json')) seen.push({ method, path: p.split('?')[0] as string, status: res.status, body: parsed });
    return { status: res.status, body: parsed, text, headers: res.headers };
  };

  beforeAll(async () => {
    redis = await startTestRedis();
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'parley-admin-'));
    const config = parseConfig({
      dataDir,
      logLevel: 'silent',
      developmentMode: true,
      http: { host: '127.0.0.1', port: 0 },
      admin: { port: 0 },
      redis: { url: redis.url, keyPrefix: `adm${Date.now()}` },
      runtime: { shards: 2 },
      analytics: { backend: 'chdb', flushIntervalMs: 200 },
      connectors: { loopback: { enabled: true, platforms: ['teams', 'xmpp'], sink: 'memory' } },
    });
    app = await startApp(config, { log: pino({ level: 'silent' }) });
    pub = `http://127.0.0.1:${app.httpPort}`;
    adm = `http://127.0.0.1:${app.admin?.port}`;
  }, 120_000);
  afterAll(async () => {
    await app?.stop();
    await redis?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('serves the admin API on its own port and never on the public one', async () => {
    expect(app.admin?.port).not.toBe(app.httpPort);
    expect((await call('GET', '/admin/api/v1/auth/status')).status).toBe(200);
    expect((await call('GET', '/admin/api/openapi.json')).status).toBe(200);
    for (const p of ['/admin/api/v1/auth/status', '/admin/api/openapi.json', '/admin/api/v1/federations']) {
      expect((await fetch(`${pub}${p}`)).status).toBe(404);
    }
    expect((await fetch(`${adm}/healthz`)).status).toBe(404);
    expect((await fetch(`${adm}/loopback/v1/ingest`, { method: 'POST', body: '[]' })).status).toBe(404);
    // The portal lives on the admin listener only, with its strict CSP.
    const portal = await fetch(`${adm}/portal/`);
    expect(portal.status).toBe(200);
    expect(portal.headers.get('content-security-policy')).toMatch(/script-src 'self'/);
    expect(await portal.text()).toMatch(/<script[^>]+src="\/portal\/assets\//);
    expect((await fetch(`${pub}/portal/`)).status).toBe(404);
  });

  it('pushes the live message rate over a WebSocket to signed-in sessions only', async () => {
    const { WebSocket } = await import('ws');
    const refused = await new Promise<number>((resolve) => {
      const ws = new WebSocket(`${adm.replace('http', 'ws')}/admin/api/v1/live`);
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => resolve(101));
    });
    expect(refused).toBe(401);
  });

  it('first admin over sockets; changes land in the ClickHouse audit table; reports answer in JSON and CSV alike', async () => {
    const token = app.admin?.setupToken as string;
    expect((await call('POST', '/admin/api/v1/auth/setup', { token, username: 'root', password: 'correct horse battery staple' })).status).toBe(200);
    const enrol = (await call('POST', '/admin/api/v1/auth/totp/enrol')).body as { secret: string };
    csrf = ((await call('GET', '/admin/api/v1/auth/csrf')).body as { csrfToken: string }).csrfToken;
    const enrolAgain = (await call('POST', '/admin/api/v1/auth/totp/enrol')).body as { secret: string };
    const confirmed = await call('POST', '/admin/api/v1/auth/totp/confirm', { code: currentTotp(enrolAgain.secret) });
    expect(enrol.secret).not.toBe(enrolAgain.secret);
    expect(confirmed.status).toBe(200);
    csrf = (confirmed.body as { csrfToken: string }).csrfToken;

    expect((await call('POST', '/admin/api/v1/federations', { domain: 'partner.example', action: 'allow', kind: 'partner', label: 'Partner' })).status).toBe(201);
    expect((await call('PUT', '/admin/api/v1/federations?domain=partner.example', { platforms: ['xmpp'] })).status).toBe(200);
    expect((await call('PUT', '/admin/api/v1/federations/default', { defaultAction: 'block' })).status).toBe(200);
    const audit = (await call('GET', '/admin/api/v1/audit?limit=10')).body as { total: number; entries: Array<{ action: string; actor: string; before: unknown; after: unknown }> };
    expect(audit.entries.map((e) => e.action)).toEqual(['federation.default', 'federation.update', 'federation.create', 'account.totp-enrol', 'account.setup']);
    expect(audit.entries[1]).toMatchObject({ actor: 'root', before: { domain: 'partner.example', action: 'allow' }, after: { platforms: ['xmpp'] } });
    expect(((await call('GET', '/admin/api/v1/audit?actor=root&action=federation.create')).body as { total: number }).total).toBe(1);
    const page2 = (await call('GET', '/admin/api/v1/audit?limit=2&offset=2')).body as { total: number; entries: Array<{ action: string }> };
    expect(page2).toMatchObject({ total: 5, entries: [{ action: 'federation.create' }, { action: 'account.totp-enrol' }] });

    const msgs = Array.from({ length: 6 }, (_, i) => im(`r${i}`, xmppUser(i % 2), teamsUser(i % 3)));
    expect((await fetch(`${pub}/loopback/v1/ingest`, { method: 'POST', body: JSON.stringify(msgs) })).status).toBe(200);
    let monthly: { rows: Array<{ month: string; users: number; messages: number }> } = { rows: [] };
    await until(() => (monthly.rows[0]?.messages ?? 0) >= 6, 30_000, 'rows in ClickHouse', async () => {
      monthly = (await call('GET', '/admin/api/v1/reports/monthly')).body as typeof monthly;
    });
    const csv = await call('GET', '/admin/api/v1/reports/monthly?format=csv');
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    const lines = csv.text.trim().split('\r\n');
    expect(lines[0]).toBe('month,users,messages');
    expect(lines.slice(1)).toEqual(monthly.rows.map((r) => `${r.month},${r.users},${r.messages}`));
    const top = (await call('GET', '/admin/api/v1/reports/top-domains?limit=5')).body as { rows: Array<{ domain: string }> };
    expect(top.rows.map((r) => r.domain)).toContain('partner.example');
    expect((await call('GET', '/admin/api/v1/reports/monthly?from=2026-13-01')).status).toBe(400);
    for (const p of ['/connectors', '/users', '/federations', '/reports', '/reports/monthly-by-side', '/reports/monthly-by-platform', '/tokens', '/accounts', '/auth/session']) {
      expect((await call('GET', `/admin/api/v1${p}`)).status).toBe(200);
    }
    expect((await call('GET', '/admin/api/v1/reports/user-detail?user=teams:user1@parley.local')).status).toBe(200);
    expect((await call('GET', '/admin/api/v1/reports/domain-detail?domain=partner.example')).status).toBe(200);
    expect((await call('GET', '/admin/api/v1/nope')).status).toBe(404);
  });

  it('the OpenAPI document is valid and every answer seen conforms to it', async () => {
    const doc = (await (await fetch(`${adm}/admin/api/openapi.json`)).json()) as Record<string, unknown>;
    const contract = new OpenApiContract(doc);
    expect(contract.problems).toEqual([]);
    const paths = Object.keys(doc.paths as object);
    expect(paths).toEqual(expect.arrayContaining(['/admin/api/v1/federations', '/admin/api/v1/reports/top-domains', '/admin/api/v1/auth/login']));
    const checked = seen.filter((s) => s.path !== '/admin/api/openapi.json' && s.status !== 404);
    expect(checked.length).toBeGreaterThan(20);
    const problems = checked.flatMap((s) => contract.check(s.method, s.path, s.status, s.body));
    expect(problems).toEqual([]);
    // The contract check itself can fail: a wrong answer is caught.
    expect(contract.check('GET', '/admin/api/v1/federations', 200, { version: 'x' })).not.toEqual([]);
  });
});
