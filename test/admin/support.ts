import { pino } from 'pino';
import type { AnalyticsStore } from '../../analytics/store.ts';
import { startAdmin, type AdminServer } from '../../src/admin/server.ts';
import type { AuditLog } from '../../src/admin/audit.ts';
import { CSRF_HEADER, SESSION_COOKIE, type Session } from '../../src/admin/schemas.ts';
import { currentTotp } from '../../src/admin/totp.ts';
import type { Config, ConfigInput } from '../../src/config/schema.ts';
import type { HttpResponse } from '../../src/core/http.ts';
import { startTestHub, type TestHub } from '../support/hub.ts';

export interface AdminRig {
  hub: TestHub;
  admin: AdminServer;
  host: string;
  call(method: string, path: string, o?: CallOptions): Promise<Reply>;
  stop(): Promise<void>;
}

export interface CallOptions {
  body?: unknown;
  session?: SessionHandle;
  /** Overrides the session's CSRF token ('' sends none). */
  csrf?: string;
  token?: string;
  headers?: Record<string, string>;
  /** The peer address the listener would see. */
  remoteAddress?: string;
}

export interface Reply {
  status: number;
  headers: Record<string, string>;
  text: string;
  json: <T = Record<string, unknown>>() => T;
}

export interface SessionHandle {
  cookie: string;
  csrf: string;
  body: Session;
}

export const ADMIN_PASSWORD = 'correct horse battery staple';

export async function startRig(redisUrl: string, input: ConfigInput = {}, extra: { analytics?: AnalyticsStore; audit?: AuditLog; listen?: boolean } = {}): Promise<AdminRig> {
  const hub = await startTestHub(redisUrl, { developmentMode: false, ...input, admin: { ...(extra.listen ? { port: 0 } : {}), ...input.admin } });
  // The hub keeps its parsed config (with the test's Redis key prefix) private; the admin listener needs the same one.
  const config = (hub.hub as unknown as { config: Config }).config;
  const admin = await startAdmin({
    config,
    log: pino({ level: 'silent' }),
    redisUrl,
    hub: hub.hub,
    connectors: [hub.loopback],
    analytics: extra.analytics,
    ...(extra.audit ? { audit: extra.audit } : {}),
    listen: extra.listen ?? false,
    announce: () => undefined,
  });
  const host = `127.0.0.1:${admin.port}`;
  const call = async (method: string, path: string, o: CallOptions = {}): Promise<Reply> => {
    const headers: Record<string, string> = { host, ...o.headers };
    if (o.session) {
      headers.cookie = o.session.cookie;
      const csrf = o.csrf ?? o.session.csrf;
      if (csrf !== '') headers[CSRF_HEADER] = csrf;
    }
    if (o.token) headers.authorization = `Bearer ${o.token}`;
    let body: string | undefined;
    if (o.body !== undefined) {
      body = JSON.stringify(o.body);
      headers['content-type'] ??= 'application/json';
    }
    const res: HttpResponse = await admin.server.inject({ method, path: path.startsWith('/admin') ? path : `/admin/api/v1${path}`, headers, ...(body !== undefined ? { body } : {}), ...(o.remoteAddress ? { remoteAddress: o.remoteAddress } : {}) });
    const text = res.body === undefined ? '' : res.body.toString();
    return { status: res.status, headers: res.headers ?? {}, text, json: <T,>() => JSON.parse(text) as T };
  };
  return {
    hub,
    admin,
    host,
    call,
    async stop() {
      await admin.close();
      await hub.stop();
    },
  };
}

export function cookieOf(reply: Reply): string {
  const set = reply.headers['set-cookie'];
  if (!set) throw new Error(`no set-cookie in ${reply.status} ${reply.text}`);
  const value = new RegExp(`^${SESSION_COOKIE}=([^;]*)`).exec(set)?.[1];
  if (value === undefined) throw new Error(`unexpected cookie ${set}`);
  return `${SESSION_COOKIE}=${value}`;
}

export function handle(reply: Reply): SessionHandle {
  if (reply.status !== 200) throw new Error(`expected 200, got ${reply.status}: ${reply.text}`);
  const body = reply.json<Session>();
  return { cookie: cookieOf(reply), csrf: body.csrfToken, body };
}

/** First admin through the setup token, TOTP enrolled: an active session and the TOTP secret. */
export async function setupAdmin(rig: AdminRig, username = 'root'): Promise<{ session: SessionHandle; secret: string }> {
  const token = rig.admin.setupToken;
  if (!token) throw new Error('no setup token');
  const pending = handle(await rig.call('POST', '/auth/setup', { body: { token, username, password: ADMIN_PASSWORD } }));
  const enrol = await rig.call('POST', '/auth/totp/enrol', { session: pending });
  const { secret } = enrol.json<{ secret: string }>();
  const session = handle(await rig.call('POST', '/auth/totp/confirm', { session: pending, body: { code: currentTotp(secret) } }));
  return { session, secret };
}

/** A code for the next time step (the current one was used by the enrolment). */
export const nextCode = (secret: string, steps = 1): string => currentTotp(secret, Date.now() + steps * 30_000);

export async function createAnalyst(rig: AdminRig, admin: SessionHandle, username = 'ana'): Promise<SessionHandle> {
  const created = await rig.call('POST', '/accounts', { session: admin, body: { username, password: ADMIN_PASSWORD, role: 'analyst' } });
  if (created.status !== 201) throw new Error(`analyst not created: ${created.text}`);
  return handle(await rig.call('POST', '/auth/login', { body: { username, password: ADMIN_PASSWORD } }));
}

export async function createToken(rig: AdminRig, admin: SessionHandle, scopes: string[]): Promise<string> {
  const r = await rig.call('POST', '/tokens', { session: admin, body: { name: `t-${scopes.join('-')}`, scopes } });
  if (r.status !== 201) throw new Error(`token not created: ${r.text}`);
  return r.json<{ token: string }>().token;
}
