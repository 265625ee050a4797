import { timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import type { HttpRequest, HttpResponse, RouteSpec } from '../core/http.ts';
import type { AdminContext } from './context.ts';
import { ApiError, errorResponse, jsonResponse, parseCookies, queryObject } from './http.ts';
import { API_PREFIX, CSRF_HEADER, SESSION_COOKIE, type Role } from './schemas.ts';
import type { SessionData } from './sessions.ts';
import type { ApiToken } from './tokens.ts';

/**
 * `public`: anyone (still under the Host/Origin checks). `session`: a session
 * at any sign-in stage. Otherwise an active session with one of `roles`, or an
 * API token (when `token`) with scope read (GET) or write (other methods).
 */
export type Access = 'public' | 'session' | { roles: readonly Role[]; token: boolean };

export interface Principal {
  actor: string;
  role: Role;
  via: 'session' | 'token';
  sessionId?: string;
  session?: SessionData;
  token?: ApiToken;
}

export interface Call<Q, B> {
  req: HttpRequest;
  query: Q;
  body: B;
  principal: Principal | undefined;
}

export type Reply<R> = { body: R; status?: number; headers?: Record<string, string> } | { raw: HttpResponse };

export interface RouteDef<Q extends z.ZodType, B extends z.ZodType, R extends z.ZodType> {
  method: RouteSpec['method'];
  /** After /admin/api/v1 */
  path: string;
  summary: string;
  tag: string;
  access: Access;
  query?: Q;
  body?: B;
  response?: R;
  /** Success status documented (default 200). */
  status?: number;
  /** Documented non-JSON answers, e.g. { 302: 'redirect' } or text/csv. */
  other?: Record<string, string>;
  /** The OIDC callback arrives by a cross-site top-level navigation from the provider. */
  crossSiteNavigation?: boolean;
  maxBodyBytes?: number;
  handler(call: Call<z.output<Q>, z.output<B>>): Promise<Reply<z.input<R>>>;
}

export type AnyRoute = RouteDef<z.ZodType, z.ZodType, z.ZodType>;

export const route = <Q extends z.ZodType = z.ZodUndefined, B extends z.ZodType = z.ZodUndefined, R extends z.ZodType = z.ZodUndefined>(
  d: RouteDef<Q, B, R>,
): AnyRoute => d as unknown as AnyRoute;

const MUTATING = new Set(['POST', 'PUT', 'DELETE']);

function issuesOf(err: z.ZodError): string[] {
  return err.issues.slice(0, 20).map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`);
}

function sameBytes(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The hosts this listener answers to: configured origins, else loopback names and the bound host (DNS rebinding guard). */
function allowedHosts(ctx: AdminContext): Set<string> {
  const port = ctx.port();
  const hosts = new Set([`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`]);
  const bound = ctx.config.admin.host;
  if (bound !== '0.0.0.0' && bound !== '::') hosts.add(bound.includes(':') ? `[${bound}]:${port}` : `${bound}:${port}`);
  for (const o of ctx.config.admin.origins) hosts.add(new URL(o).host);
  return hosts;
}

/** Refuses requests for a foreign Host and cross-origin requests (Origin, Sec-Fetch-Site). */
export function checkOrigin(ctx: AdminContext, req: HttpRequest, crossSiteNavigation = false): void {
  const host = req.headers.host;
  if (!host || !allowedHosts(ctx).has(host.toLowerCase())) throw new ApiError(421, 'MISDIRECTED', 'this admin listener does not answer to that Host');
  const site = req.headers['sec-fetch-site'];
  const origin = req.headers.origin;
  if (crossSiteNavigation && req.method === 'GET') return;
  if (site !== undefined && site !== 'same-origin' && site !== 'none') throw new ApiError(403, 'CROSS_ORIGIN', `cross-origin request refused (Sec-Fetch-Site: ${site})`);
  if (origin !== undefined) {
    const allowed = ctx.config.admin.origins.length > 0 ? ctx.config.admin.origins : [`http://${host}`, `https://${host}`];
    if (!allowed.includes(origin.toLowerCase())) throw new ApiError(403, 'CROSS_ORIGIN', 'cross-origin request refused');
  }
}

export interface SessionLookup {
  id: string;
  data: SessionData;
}

export async function sessionOf(ctx: AdminContext, req: HttpRequest): Promise<SessionLookup | undefined> {
  const id = parseCookies(req.headers.cookie).get(SESSION_COOKIE);
  if (!id) return undefined;
  const data = await ctx.sessions.touch(id);
  return data ? { id, data } : undefined;
}

async function authenticate(ctx: AdminContext, r: AnyRoute, req: HttpRequest): Promise<Principal | undefined> {
  if (r.access === 'public') return undefined;
  const auth = req.headers.authorization;
  if (auth !== undefined) {
    const bearer = /^Bearer (\S+)$/i.exec(auth)?.[1];
    const token = bearer ? await ctx.tokens.verify(bearer) : undefined;
    if (!token) throw new ApiError(401, 'UNAUTHENTICATED', 'invalid or expired API token');
    if (r.access === 'session' || !r.access.token) throw new ApiError(403, 'FORBIDDEN', 'API tokens cannot use this route');
    // write implies read: a script that changes a rule may look at it first.
    const need = MUTATING.has(req.method) ? 'write' : 'read';
    if (!token.scopes.includes(need) && !token.scopes.includes('write')) throw new ApiError(403, 'FORBIDDEN', `this API token lacks the ${need} scope`);
    return { actor: `token:${token.name}`, role: 'admin', via: 'token', token };
  }
  const s = await sessionOf(ctx, req);
  if (!s) throw new ApiError(401, 'UNAUTHENTICATED', 'sign in first (no session, or it expired)');
  if (MUTATING.has(req.method)) {
    const given = req.headers[CSRF_HEADER];
    if (!given || !sameBytes(given, s.data.csrf)) throw new ApiError(403, 'CSRF', `missing or wrong ${CSRF_HEADER} header`);
  }
  const principal: Principal = { actor: s.data.username, role: s.data.role, via: 'session', sessionId: s.id, session: s.data };
  if (r.access === 'session') return principal;
  if (s.data.stage !== 'active') throw new ApiError(401, 'SECOND_FACTOR_REQUIRED', s.data.stage === 'enrol' ? 'enrol a TOTP authenticator first' : 'enter your TOTP code first');
  if (!r.access.roles.includes(s.data.role)) throw new ApiError(403, 'FORBIDDEN', `the ${s.data.role} role cannot use this route`);
  return principal;
}

function parseBody(r: AnyRoute, req: HttpRequest): unknown {
  if (!r.body) return undefined;
  const type = req.headers['content-type'] ?? '';
  if (!/^application\/json\s*(;|$)/i.test(type)) throw new ApiError(415, 'UNSUPPORTED_MEDIA_TYPE', 'send application/json');
  let raw: unknown;
  try {
    raw = JSON.parse(req.body.toString('utf8'));
  } catch {
    throw new ApiError(400, 'BAD_REQUEST', 'body is not valid JSON');
  }
  const parsed = r.body.safeParse(raw);
  if (!parsed.success) throw new ApiError(400, 'INVALID', 'request body is invalid', issuesOf(parsed.error));
  return parsed.data;
}

function parseQuery(r: AnyRoute, req: HttpRequest): unknown {
  if (!r.query) return undefined;
  const parsed = r.query.safeParse(queryObject(req.query));
  if (!parsed.success) throw new ApiError(400, 'INVALID', 'query parameters are invalid', issuesOf(parsed.error));
  return parsed.data;
}

/** Turns a route definition into a RouteSpec: origin, auth, CSRF, role, validation of both directions. */
export function toRouteSpec(ctx: AdminContext, r: AnyRoute): RouteSpec {
  return {
    method: r.method,
    path: `${API_PREFIX}${r.path}`,
    maxBodyBytes: r.maxBodyBytes ?? 64 * 1024,
    handler: async (req) => {
      try {
        checkOrigin(ctx, req, r.crossSiteNavigation);
        const principal = await authenticate(ctx, r, req);
        const query = parseQuery(r, req);
        const body = parseBody(r, req);
        const reply = await r.handler({ req, query, body, principal });
        if ('raw' in reply) return reply.raw;
        const out = r.response ? r.response.safeParse(reply.body) : { success: true as const, data: reply.body };
        if (!out.success) {
          ctx.log.error({ path: r.path, issues: issuesOf(out.error) }, 'admin API answer does not match its schema');
          throw new ApiError(500, 'INTERNAL', 'answer failed validation');
        }
        return jsonResponse(reply.status ?? r.status ?? 200, out.data, reply.headers);
      } catch (err) {
        if (err instanceof ApiError) return errorResponse(err);
        ctx.log.error({ err, path: r.path }, 'admin API route failed');
        return errorResponse(new ApiError(500, 'INTERNAL', 'internal error'));
      }
    },
  };
}
