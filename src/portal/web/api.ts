/**
 * The portal's only door to the server: JSON over fetch to the admin API,
 * same origin, session cookie, and the session's CSRF token on every
 * state-changing call. Every path the portal uses is listed here.
 */
export const API = '/admin/api/v1';

export const ROUTES = {
  status: `${API}/auth/status`,
  session: `${API}/auth/session`,
  login: `${API}/auth/login`,
  loginTotp: `${API}/auth/login/totp`,
  logout: `${API}/auth/logout`,
  setup: `${API}/auth/setup`,
  totpEnrol: `${API}/auth/totp/enrol`,
  totpConfirm: `${API}/auth/totp/confirm`,
  oidcStart: `${API}/auth/oidc/start`,
  report: (name: string) => `${API}/reports/${name}`,
  federations: `${API}/federations`,
  users: `${API}/users`,
  userFederation: `${API}/users/federation`,
  contacts: `${API}/users/contacts`,
  contactRevoke: `${API}/users/contacts/revoke`,
  connectors: `${API}/connectors`,
  deadLetters: `${API}/dead-letters`,
  deadLetterReplay: `${API}/dead-letters/replay`,
  deadLetterDiscard: `${API}/dead-letters/discard`,
  audit: `${API}/audit`,
  /** WebSocket: messages-per-minute pushes (src/server/ws-feed.ts). */
  live: `${API}/live`,
} as const;

export const CSRF_HEADER = 'x-csrf-token';

/** Shapes from the admin API contract (src/admin/schemas.ts), as the portal reads them. */
export type Role = 'admin' | 'analyst';
export interface AuthStatus { setupRequired: boolean; localLogin: boolean; oidc: { enabled: boolean; name?: string } }
export interface Me { id: string; username: string; name?: string; role: Role; source: 'local' | 'oidc'; totpEnrolled: boolean }
export interface Session { stage: 'totp' | 'enrol' | 'active'; user: Me; csrfToken: string; expiresAt: number; idleExpiresAt: number }
export interface TotpEnrolment { secret: string; uri: string; issuer: string }
export type Platform = string;
export interface Federation { domain: string; action: 'allow' | 'block'; platforms?: Platform[]; kind: 'internal' | 'partner'; label?: string }
export interface FederationList { version: number; defaultAction: 'allow' | 'block'; localDomains: string[]; domains: Federation[] }
export interface AdminUser { id: string; platform: Platform; domain: string; tenant?: string; name?: string; email?: string; firstSeen: number; lastSeen: number; federationEnabled: boolean }
export interface UserList { total: number; offset: number; limit: number; users: AdminUser[] }
export interface Contact { address: string; platform: Platform; domain: string; state: 'pending-out' | 'pending-in' | 'accepted'; since: number; askedFirst: 'user' | 'contact' | 'unknown' }
export interface ContactList { user: string; contacts: Contact[] }
export interface QueueCounts { waiting: number; active: number; delayed: number; failed: number; prioritized: number }
export interface ConnectorInfo { name: string; platforms: string[]; state: 'starting' | 'up' | 'reconnecting' | 'down' | 'stopped'; since: number; detail?: string; queue: QueueCounts; retries: number; counters: Record<string, number> }
export interface ConnectorList { ready: boolean; redis: string; connectors: ConnectorInfo[] }
export interface DeadLetter { id: string; connector: string; items: number; attempts: number; error: string; createdAt: number; failedAt?: number }
export interface DeadLetterList { total: number; deadLetters: DeadLetter[] }
export interface AuditEntry { id: string; at: number; actor: string; role: string; action: string; target: string; before: unknown; after: unknown }
export interface AuditList { total: number; entries: AuditEntry[] }
export const PLATFORMS = ['teams', 'xmpp', 'sip'] as const;

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

let csrfToken = '';
let onUnauthorized: () => void = () => undefined;

export function setCsrfToken(token: string): void {
  csrfToken = token;
}

export function setUnauthorizedHandler(fn: () => void): void {
  onUnauthorized = fn;
}

type Query = Record<string, string | number | undefined>;

function withQuery(path: string, query?: Query): string {
  if (!query) return path;
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

/** What the user should do about a failure, in words. */
function advice(status: number): string {
  if (status === 0) return 'The Parley server did not answer. Check that Parley is running and reload the page.';
  if (status === 401) return 'Your session has ended. Sign in again.';
  if (status === 403) return 'Your role does not allow this. Ask an administrator.';
  if (status === 404) return 'Not found. It may have been removed; reload the page.';
  if (status === 429) return 'Too many attempts. Wait a minute and try again.';
  if (status >= 500) return 'The server failed. Try again; if it keeps failing, check the Parley logs.';
  return 'The request was refused.';
}

async function call<T>(method: string, path: string, body?: unknown, query?: Query): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (method !== 'GET') {
    headers[CSRF_HEADER] = csrfToken;
    if (body !== undefined) headers['content-type'] = 'application/json';
  }
  let res: Response;
  try {
    res = await fetch(withQuery(path, query), {
      method,
      headers,
      credentials: 'same-origin',
      body: body === undefined ? null : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, 'NETWORK', advice(0));
  }
  const text = await res.text();
  let data: unknown = undefined;
  try {
    data = text ? JSON.parse(text) : undefined;
  } catch {
    data = undefined;
  }
  if (!res.ok) {
    const err = (data as { error?: { code?: string; message?: string } } | undefined)?.error;
    // A wrong password or code is a 401 too, but the session (if any) lives on: stay on the form and say so.
    const wrongSecret = err?.code === 'INVALID_CODE' || err?.code === 'INVALID_CREDENTIALS';
    if (res.status === 401 && !wrongSecret && path !== ROUTES.session && path !== ROUTES.login) onUnauthorized();
    const hint = wrongSecret ? 'Check it and try again.' : advice(res.status);
    const message = err?.message ? `${err.message}. ${hint}` : hint;
    throw new ApiError(res.status, err?.code ?? `HTTP_${res.status}`, message);
  }
  return data as T;
}

export const api = {
  get: <T>(path: string, query?: Query) => call<T>('GET', path, undefined, query),
  post: <T>(path: string, body?: unknown, query?: Query) => call<T>('POST', path, body ?? {}, query),
  put: <T>(path: string, body?: unknown, query?: Query) => call<T>('PUT', path, body ?? {}, query),
  del: <T>(path: string, query?: Query) => call<T>('DELETE', path, undefined, query),
};
