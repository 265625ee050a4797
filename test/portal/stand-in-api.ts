import { formatRows } from '../../analytics/format.ts';
import { REPORTS, isReportName, runReport, trailingYear, type Source } from '../../analytics/reports.ts';
import type { AnalyticsStore } from '../../analytics/store.ts';
import { json, type HttpRequest, type HttpResponse, type RouteSpec } from '../../src/core/http.ts';

/**
 * The admin API as the portal sees it, until the real one (branch admin-api,
 * src/admin/**) is merged: the same paths and JSON shapes as
 * docs/admin-api.md. Reports are real (analytics/reports.ts over the given
 * chDB store, rollup SQL); sign-in is a fixed session (the real auth is tested
 * with the admin API); federations, users, contacts, connectors, dead letters
 * and audit are small in-memory lists that change as the portal calls them.
 * Non-GET calls must carry the session's CSRF token, as with the real API.
 */
export const CSRF = 'stand-in-csrf-token';
const P = '/admin/api/v1';

export interface StandIn {
  routes: RouteSpec[];
  /** Every request the API answered: `METHOD path?query`. */
  calls: string[];
  federations: Array<{ domain: string; action: 'allow' | 'block'; kind: 'internal' | 'partner'; label?: string; platforms?: string[] }>;
  users: Array<{ id: string; platform: string; domain: string; name?: string; email?: string; firstSeen: number; lastSeen: number; federationEnabled: boolean }>;
  audit: Array<{ id: string; at: number; actor: string; role: string; action: string; target: string; before: unknown; after: unknown }>;
  /** Sign-in state: 'none' (401 on /auth/session), 'totp' (password accepted), 'active'. */
  stage: 'none' | 'totp' | 'active';
}

/** The stand-in's one account. */
export const ACCOUNT = { username: 'admin', password: 'correct horse battery', totp: '123456' };

export interface StandInOptions {
  role?: 'admin' | 'analyst';
  /** Where reports read (bench/portal.ts compares the daily rollups with the default, the best rollup). */
  source?: Source;
}

export function standInAdminApi(store: AnalyticsStore, opts: StandInOptions = {}): StandIn {
  const role = opts.role ?? 'admin';
  const now = Date.now();
  const s: StandIn = {
    routes: [],
    calls: [],
    federations: [
      { domain: 'partner.example', action: 'allow', kind: 'partner', label: 'Partner Inc.', platforms: ['xmpp'] },
      { domain: 'voip.example', action: 'allow', kind: 'partner', label: 'VoIP Co' },
      { domain: 'evil.example', action: 'block', kind: 'partner', label: '<img src=x onerror=alert(1)>' },
    ],
    users: Array.from({ length: 60 }, (_, i) => ({
      id: `u${i}@parley.local`,
      platform: 'teams',
      domain: 'parley.local',
      name: i === 7 ? '<b>Bold</b> Name' : `User ${String(i).padStart(2, '0')}`,
      email: `user${i}@corp.example`,
      firstSeen: now - 86_400_000 * 30,
      lastSeen: now - 60_000 * i,
      federationEnabled: i % 10 !== 3,
    })),
    audit: [],
    stage: 'active',
  };
  const contacts = new Map<string, Array<{ address: string; platform: string; domain: string; state: string; since: number; askedFirst: string }>>([
    ['u0@parley.local', [
      { address: 'alice@partner.example', platform: 'xmpp', domain: 'partner.example', state: 'accepted', since: now - 86_400_000, askedFirst: 'unknown' },
      { address: 'sip:bob@voip.example', platform: 'sip', domain: 'voip.example', state: 'pending-out', since: now - 3_600_000, askedFirst: 'user' },
    ]],
  ]);
  const deadLetters = [{ id: 'job-17', connector: 'xmpp', items: 3, attempts: 8, error: 'remote-server-timeout', createdAt: now - 7_200_000, failedAt: now - 3_600_000 }];
  const record = (action: string, target: string, before: unknown, after: unknown) =>
    s.audit.unshift({ id: String(s.audit.length + 1), at: Date.now(), actor: 'admin', role, action, target, before, after });

  const body = (req: HttpRequest): Record<string, unknown> => JSON.parse(req.body.toString('utf8') || '{}') as Record<string, unknown>;
  const route = (method: RouteSpec['method'], path: string, handler: (req: HttpRequest, q: URLSearchParams) => Promise<HttpResponse> | HttpResponse): void => {
    s.routes.push({
      method,
      path: `${P}${path}`,
      maxBodyBytes: 64 * 1024,
      handler: async (req) => {
        s.calls.push(`${req.method} ${req.path}${req.query ? `?${req.query}` : ''}`);
        if (method !== 'GET' && path !== '/auth/login' && req.headers['x-csrf-token'] !== CSRF) return json(403, { error: { code: 'CSRF', message: 'Missing or wrong CSRF token' } });
        if (s.stage !== 'active' && !path.startsWith('/auth')) return noSession();
        if (role === 'analyst' && !path.startsWith('/reports') && !path.startsWith('/auth')) return json(403, { error: { code: 'FORBIDDEN', message: 'Analysts can read reports only' } });
        return handler(req, new URLSearchParams(req.query));
      },
    });
  };

  route('GET', '/auth/status', () => json(200, { setupRequired: false, localLogin: true, oidc: { enabled: true, name: 'Stand-in IdP' } }));
  const session = () => ({
    stage: s.stage,
    user: { id: 'admin', username: 'admin', name: 'Ada Admin', role, source: 'local', totpEnrolled: true },
    csrfToken: CSRF,
    expiresAt: now + 3_600_000,
    idleExpiresAt: now + 1_800_000,
  });
  const noSession = () => json(401, { error: { code: 'UNAUTHENTICATED', message: 'Not signed in' } });
  route('GET', '/auth/session', () => (s.stage === 'none' ? noSession() : json(200, session())));
  route('POST', '/auth/login', (req) => {
    const b = body(req);
    if (b.username !== ACCOUNT.username || b.password !== ACCOUNT.password) return json(401, { error: { code: 'BAD_CREDENTIALS', message: 'Wrong username or password' } });
    s.stage = 'totp';
    return json(200, session());
  });
  route('POST', '/auth/login/totp', (req) => {
    if (s.stage !== 'totp') return noSession();
    if (body(req).code !== ACCOUNT.totp) return json(401, { error: { code: 'BAD_TOTP', message: 'Wrong code' } });
    s.stage = 'active';
    return json(200, session());
  });
  route('POST', '/auth/logout', () => {
    s.stage = 'none';
    return json(200, { ok: true });
  });

  for (const name of Object.keys(REPORTS)) {
    if (!isReportName(name)) continue;
    route('GET', `/reports/${name}`, async (_req, q) => {
      const input: Record<string, string> = { ...trailingYear() };
      for (const k of ['from', 'to', 'tenant', 'limit', 'domain', 'user']) {
        const v = q.get(k);
        if (v !== null) input[k] = v;
      }
      try {
        const rows = await runReport(store.db, name, input, opts.source ?? 'rollup');
        if (q.get('format') === 'csv') return { status: 200, headers: { 'content-type': 'text/csv; charset=utf-8' }, body: formatRows(rows as Array<Record<string, unknown>>, 'csv') };
        return json(200, { report: name, from: input.from, to: input.to, tenant: input.tenant ?? '', rows });
      } catch (err) {
        return json(400, { error: { code: 'BAD_REQUEST', message: err instanceof Error ? err.message : String(err) } });
      }
    });
  }

  route('GET', '/federations', () => json(200, { version: s.audit.length, defaultAction: 'block', localDomains: ['parley.local', 'corp.local'], domains: s.federations }));
  route('POST', '/federations', (req) => {
    const b = body(req) as StandIn['federations'][number];
    if (s.federations.some((f) => f.domain === b.domain)) return json(409, { error: { code: 'EXISTS', message: `${b.domain} has a rule already` } });
    s.federations.push(b);
    record('federation.create', b.domain, null, b);
    return json(201, b);
  });
  route('PUT', '/federations', (req, q) => {
    const f = s.federations.find((x) => x.domain === q.get('domain'));
    if (!f) return json(404, { error: { code: 'NOT_FOUND', message: 'No such domain' } });
    const before = { ...f };
    const b = body(req);
    if (b.action === 'allow' || b.action === 'block') f.action = b.action;
    if (b.kind === 'internal' || b.kind === 'partner') f.kind = b.kind;
    if ('label' in b) f.label = typeof b.label === 'string' ? b.label : undefined;
    if ('platforms' in b) f.platforms = Array.isArray(b.platforms) ? (b.platforms as string[]) : undefined;
    record('federation.update', f.domain, before, { ...f });
    return json(200, f);
  });
  route('DELETE', '/federations', (_req, q) => {
    const i = s.federations.findIndex((x) => x.domain === q.get('domain'));
    if (i < 0) return json(404, { error: { code: 'NOT_FOUND', message: 'No such domain' } });
    const [gone] = s.federations.splice(i, 1);
    record('federation.delete', gone?.domain ?? '', gone, null);
    return json(200, { ok: true });
  });

  route('GET', '/users', (_req, q) => {
    const term = (q.get('q') ?? '').toLowerCase();
    const offset = Number(q.get('offset') ?? 0);
    const limit = Number(q.get('limit') ?? 50);
    const found = s.users.filter((u) => !term || [u.id, u.name ?? '', u.email ?? ''].some((x) => x.toLowerCase().includes(term)));
    return json(200, { total: found.length, offset, limit, users: found.slice(offset, offset + limit) });
  });
  route('PUT', '/users/federation', (req, q) => {
    const u = s.users.find((x) => x.id === q.get('id'));
    if (!u) return json(404, { error: { code: 'NOT_FOUND', message: 'No such user' } });
    const before = u.federationEnabled;
    u.federationEnabled = body(req).enabled === true;
    record('user.federation', u.id, { enabled: before }, { enabled: u.federationEnabled });
    return json(200, u);
  });
  route('GET', '/users/contacts', (_req, q) => json(200, { user: q.get('id') ?? '', contacts: contacts.get(q.get('id') ?? '') ?? [] }));
  route('POST', '/users/contacts/revoke', (req) => {
    const b = body(req) as { user: string; address: string };
    const list = contacts.get(b.user) ?? [];
    contacts.set(b.user, list.filter((c) => c.address !== b.address));
    record('contact.revoke', `${b.user} -> ${b.address}`, null, null);
    return json(200, { revoked: true, outcome: 'unsubscribed' });
  });

  route('GET', '/connectors', () =>
    json(200, {
      ready: true,
      redis: 'up',
      connectors: [
        { name: 'teams', platforms: ['teams'], state: 'up', since: now - 86_400_000, queue: { waiting: 0, active: 1, delayed: 0, failed: 0, prioritized: 0 }, retries: 2, counters: {} },
        { name: 'xmpp', platforms: ['xmpp'], state: 'reconnecting', since: now - 30_000, detail: 'connection to prosody:5347 refused', queue: { waiting: 42, active: 0, delayed: 5, failed: 1, prioritized: 0 }, retries: 17, counters: {} },
        { name: 'sip', platforms: ['sip'], state: 'up', since: now - 3_600_000, queue: { waiting: 0, active: 0, delayed: 0, failed: 0, prioritized: 0 }, retries: 0, counters: {} },
      ],
    }),
  );
  route('GET', '/dead-letters', (_req, q) => {
    const c = q.get('connector');
    const list = deadLetters.filter((d) => !c || d.connector === c);
    return json(200, { total: list.length, deadLetters: list });
  });
  const dlAction = (name: string) => (req: HttpRequest) => {
    const b = body(req) as { ids: string[] };
    let done = 0;
    for (const id of b.ids) {
      const i = deadLetters.findIndex((d) => d.id === id);
      if (i >= 0) {
        deadLetters.splice(i, 1);
        done++;
      }
    }
    record(`deadletter.${name}`, b.ids.join(','), null, null);
    return json(200, { done, missing: [] });
  };
  route('POST', '/dead-letters/replay', dlAction('replay'));
  route('POST', '/dead-letters/discard', dlAction('discard'));
  route('GET', '/audit', (_req, q) => {
    const action = q.get('action');
    const list = s.audit.filter((a) => !action || a.action === action);
    return json(200, { total: list.length, entries: list.slice(Number(q.get('offset') ?? 0), Number(q.get('offset') ?? 0) + Number(q.get('limit') ?? 50)) });
  });
  return s;
}
