import type { HttpResponse } from '../core/http.ts';
import type { AdminContext } from './context.ts';
import { clearCookie, setCookie } from './http.ts';
import { SESSION_COOKIE, type Session } from './schemas.ts';
import type { SessionData } from './sessions.ts';

export function secureCookies(ctx: AdminContext): boolean {
  return !ctx.config.developmentMode;
}

export function sessionCookie(ctx: AdminContext, id: string): string {
  return setCookie(SESSION_COOKIE, id, { secure: secureCookies(ctx), maxAgeS: ctx.config.admin.session.ttlMinutes * 60 });
}

export function clearSessionCookie(ctx: AdminContext): string {
  return clearCookie(SESSION_COOKIE, { secure: secureCookies(ctx) });
}

export async function sessionView(ctx: AdminContext, s: SessionData): Promise<Session> {
  const account = s.source === 'local' ? await ctx.accounts.byId(s.userId) : undefined;
  return {
    stage: s.stage,
    user: {
      id: s.userId,
      username: s.username,
      ...(s.name ? { name: s.name } : {}),
      role: s.role,
      source: s.source,
      totpEnrolled: account?.totpSecret !== undefined,
    },
    csrfToken: s.csrf,
    expiresAt: s.expiresAt,
    idleExpiresAt: ctx.sessions.idleExpiresAt(s),
  };
}

/** A new session (new id, new CSRF token) replacing `previous`; the answer carries its cookie. */
export async function startSession(
  ctx: AdminContext,
  data: Omit<SessionData, 'csrf' | 'createdAt' | 'expiresAt' | 'lastSeen'>,
  previous?: string,
): Promise<{ body: Session; headers: Record<string, string> }> {
  if (previous) await ctx.sessions.destroy(previous);
  const { id, session } = await ctx.sessions.create(data);
  return { body: await sessionView(ctx, session), headers: { 'set-cookie': sessionCookie(ctx, id) } };
}

/** One Set-Cookie at most: the HTTP seam carries one value per header name. */
export function redirect(location: string, cookie?: string): HttpResponse {
  const headers: Record<string, string> = { location, 'cache-control': 'no-store' };
  if (cookie) headers['set-cookie'] = cookie;
  return { status: 302, headers };
}
