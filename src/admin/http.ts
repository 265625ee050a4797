import { isIP } from 'node:net';
import type { HttpRequest, HttpResponse } from '../core/http.ts';

/** Refusals the admin API answers with `{"error":{code,message}}`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly issues?: string[],
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/**
 * Strict CSP for a same-origin SPA without inline scripts or styles; every
 * admin answer carries these (the listener adds them to 404s as well).
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

export function jsonResponse(status: number, value: unknown, headers: Record<string, string> = {}): HttpResponse {
  return {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers },
    body: JSON.stringify(value),
  };
}

export function errorResponse(err: ApiError): HttpResponse {
  const body = { error: { code: err.code, message: err.message, ...(err.issues ? { issues: err.issues } : {}) } };
  return jsonResponse(err.status, body, err.headers);
}

export function parseCookies(header: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  if (!header) return out;
  for (const part of header.split(/;\s*/)) {
    const eq = part.indexOf('=');
    if (eq > 0) out.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  return out;
}

export interface CookieOptions {
  secure: boolean;
  maxAgeS?: number;
  path?: string;
  /** Lax for the short OIDC state cookie (it must survive the provider's top-level redirect back). */
  sameSite?: 'Strict' | 'Lax';
}

export function setCookie(name: string, value: string, o: CookieOptions): string {
  const parts = [`${name}=${value}`, `Path=${o.path ?? '/'}`, 'HttpOnly', `SameSite=${o.sameSite ?? 'Strict'}`];
  if (o.secure) parts.push('Secure');
  if (o.maxAgeS !== undefined) parts.push(`Max-Age=${o.maxAgeS}`);
  return parts.join('; ');
}

export function clearCookie(name: string, o: CookieOptions): string {
  return setCookie(name, '', { ...o, maxAgeS: 0 });
}

/** Query string to a plain object (last value wins). */
export function queryObject(query: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of new URLSearchParams(query)) out[k] = v;
  return out;
}

export function csvOf(rows: ReadonlyArray<Record<string, unknown>>, columns: readonly string[]): string {
  const cell = (v: unknown): string => {
    const s = v === undefined || v === null ? '' : String(v);
    // Quote when needed; a leading = + - @ is prefixed so spreadsheets do not run it as a formula.
    const safe = /^[=+\-@\t\r]/.test(s) && !/^-?\d+(\.\d+)?$/.test(s) ? `'${s}` : s;
    return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
  };
  return [columns.join(','), ...rows.map((r) => columns.map((c) => cell(r[c])).join(','))].join('\r\n') + '\r\n';
}

/** One spelling per address: IPv6 compressed and lower-case (uWS writes all eight groups), IPv4-mapped IPv6 as IPv4. */
function normalAddress(a: string): string {
  const s = a.trim().toLowerCase();
  if (isIP(s) !== 6) return s;
  let host: string;
  try {
    host = new URL(`http://[${s}]/`).hostname.slice(1, -1);
  } catch {
    return s; // e.g. a zone id: left as it is
  }
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(host);
  if (!mapped) return host;
  const [hi, lo] = [parseInt(mapped[1] as string, 16), parseInt(mapped[2] as string, 16)];
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
}

/**
 * The client a request is attributed to: the socket's peer, or, when the peer
 * is a trusted proxy, the last X-Forwarded-For hop that is not one (earlier
 * hops are whatever the client wrote). Undefined without a socket (inject()).
 */
export function clientAddress(req: HttpRequest, trustedProxies: readonly string[]): string | undefined {
  const peer = normalAddress(req.remoteAddress ?? '');
  if (!isIP(peer)) return undefined;
  const trusted = new Set(trustedProxies.map(normalAddress));
  if (!trusted.has(peer)) return peer;
  const hops = (req.headers['x-forwarded-for'] ?? '').split(',').map(normalAddress).filter((h) => h.length > 0);
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i] as string;
    if (!isIP(hop)) return peer; // a proxy wrote no usable address: count the proxy
    if (!trusted.has(hop)) return hop;
  }
  return peer;
}
