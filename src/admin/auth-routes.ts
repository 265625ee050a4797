import { z } from 'zod';
import { route, type AnyRoute, type Principal } from './api.ts';
import type { AdminContext } from './context.ts';
import { ApiError, clientAddress, jsonResponse, parseCookies, setCookie } from './http.ts';
import { OidcRefused } from './oidc.ts';
import { dummyHash, hashPassword, verifyPassword } from './passwords.ts';
import {
  API_PREFIX,
  authStatusSchema,
  csrfSchema,
  loginRequestSchema,
  okSchema,
  sessionSchema,
  setupRequestSchema,
  totpCodeRequestSchema,
  totpEnrolmentSchema,
} from './schemas.ts';
import { clearSessionCookie, redirect, secureCookies, sessionView, startSession } from './session-view.ts';
import { checkTotp, newTotpSecret, TOTP_PARAMS, totpFor } from './totp.ts';

const OIDC_COOKIE = 'parley_oidc';
const CALLBACK = `${API_PREFIX}/auth/oidc/callback`;
const ISSUER = 'Parley';

function need(p: Principal | undefined): Principal & { sessionId: string; session: NonNullable<Principal['session']> } {
  if (!p?.sessionId || !p.session) throw new ApiError(401, 'UNAUTHENTICATED', 'sign in first');
  return p as Principal & { sessionId: string; session: NonNullable<Principal['session']> };
}

async function localAccount(ctx: AdminContext, p: Principal) {
  if (p.session?.source !== 'local') throw new ApiError(409, 'NOT_LOCAL', 'this account signs in through OpenID Connect');
  const account = await ctx.accounts.byId(p.session.userId);
  if (!account) throw new ApiError(401, 'UNAUTHENTICATED', 'the account no longer exists');
  return account;
}

export function authRoutes(ctx: AdminContext): AnyRoute[] {
  const login = ctx.config.admin.login;
  const lockoutMs = login.lockoutMinutes * 60_000;

  const locked = (until: number): ApiError =>
    new ApiError(423, 'LOCKED', `too many failed sign-ins: locked until ${new Date(until).toISOString()}`, undefined, {
      'retry-after': String(Math.ceil((until - Date.now()) / 1000)),
    });

  return [
    route({
      method: 'GET', path: '/auth/status', tag: 'auth', summary: 'What the sign-in page offers', access: 'public',
      response: authStatusSchema,
      handler: async () => ({
        body: {
          setupRequired: await ctx.accounts.setupPending(),
          localLogin: ctx.config.admin.localLogin,
          oidc: ctx.oidc ? { enabled: true, name: ctx.oidc.name } : { enabled: false },
        },
      }),
    }),
    route({
      method: 'POST', path: '/auth/setup', tag: 'auth', summary: 'Create the first admin with the one-time setup token', access: 'public',
      body: setupRequestSchema, response: sessionSchema,
      handler: async ({ body, req }) => {
        if (!(await ctx.accounts.consumeSetupToken(body.token))) throw new ApiError(403, 'SETUP_TOKEN_INVALID', 'setup token is wrong or was used already');
        const account = await ctx.accounts.create({
          username: body.username,
          role: 'admin',
          passwordHash: await hashPassword(body.password),
          ...(body.name ? { name: body.name } : {}),
        });
        if (!account) throw new ApiError(409, 'EXISTS', 'username taken');
        await audit(ctx, { actor: account.username, role: 'admin' }, 'account.setup', account.username, null, { username: account.username, role: 'admin' });
        const previous = parseCookies(req.headers.cookie).get('parley_admin');
        return startSession(ctx, { userId: account.id, username: account.username, role: 'admin', source: 'local', stage: 'enrol', ...(account.name ? { name: account.name } : {}) }, previous);
      },
    }),
    route({
      method: 'POST', path: '/auth/login', tag: 'auth', summary: 'Sign in with username and password', access: 'public',
      body: loginRequestSchema, response: sessionSchema,
      handler: async ({ body, req }) => {
        if (!ctx.config.admin.localLogin) throw new ApiError(404, 'NOT_FOUND', 'local sign-in is off');
        if (!(await ctx.accounts.allowAttempt(body.username, clientAddress(req, ctx.config.admin.trustedProxies), login.maxAttemptsPerMinute))) {
          throw new ApiError(429, 'RATE_LIMITED', 'too many sign-in attempts; wait a minute', undefined, { 'retry-after': '60' });
        }
        const until = await ctx.accounts.lockedUntil(body.username);
        if (until) throw locked(until);
        const account = await ctx.accounts.get(body.username);
        const ok = await verifyPassword(body.password, account?.passwordHash ?? (await dummyHash()));
        if (!account || !ok) {
          const lock = await ctx.accounts.recordFailure(body.username, login.maxFailures, lockoutMs);
          ctx.log.warn({ username: body.username.slice(0, 64), locked: lock !== undefined }, 'admin sign-in failed');
          if (lock) throw locked(lock);
          throw new ApiError(401, 'INVALID_CREDENTIALS', 'wrong username or password');
        }
        await ctx.accounts.clearFailures(body.username);
        const stage = account.totpSecret ? 'totp' : account.role === 'admin' ? 'enrol' : 'active';
        const previous = parseCookies(req.headers.cookie).get('parley_admin');
        return startSession(ctx, { userId: account.id, username: account.username, role: account.role, source: 'local', stage, ...(account.name ? { name: account.name } : {}) }, previous);
      },
    }),
    route({
      method: 'POST', path: '/auth/login/totp', tag: 'auth', summary: 'Second factor after the password', access: 'session',
      body: totpCodeRequestSchema, response: sessionSchema,
      handler: async ({ body, principal }) => {
        const p = need(principal);
        if (p.session.stage !== 'totp') throw new ApiError(409, 'WRONG_STAGE', `session is at stage ${p.session.stage}`);
        const account = await localAccount(ctx, p);
        const until = await ctx.accounts.lockedUntil(account.username);
        if (until) throw locked(until);
        const step = account.totpSecret ? checkTotp(account.totpSecret, body.code) : undefined;
        if (step === undefined || step <= (account.totpLastStep ?? -1)) {
          const lock = await ctx.accounts.recordFailure(account.username, login.maxFailures, lockoutMs);
          if (lock) {
            await ctx.sessions.destroy(p.sessionId);
            throw locked(lock);
          }
          throw new ApiError(401, 'INVALID_CODE', 'wrong or already used code');
        }
        await ctx.accounts.save({ ...account, totpLastStep: step });
        await ctx.accounts.clearFailures(account.username);
        return startSession(ctx, { ...p.session, stage: 'active' }, p.sessionId);
      },
    }),
    route({
      method: 'POST', path: '/auth/totp/enrol', tag: 'auth', summary: 'Start TOTP enrolment: secret and otpauth URI (shown once)', access: 'session',
      response: totpEnrolmentSchema,
      handler: async ({ principal }) => {
        const p = need(principal);
        if (p.session.stage === 'totp') throw new ApiError(409, 'WRONG_STAGE', 'enter your current code first');
        const account = await localAccount(ctx, p);
        const secret = newTotpSecret();
        await ctx.accounts.save({ ...account, totpPending: secret });
        return {
          body: {
            secret,
            uri: totpFor(secret, account.username, ISSUER).toString(),
            issuer: ISSUER,
            digits: TOTP_PARAMS.digits,
            periodSeconds: TOTP_PARAMS.period,
            algorithm: TOTP_PARAMS.algorithm,
          },
        };
      },
    }),
    route({
      method: 'POST', path: '/auth/totp/confirm', tag: 'auth', summary: 'Confirm TOTP enrolment with a code', access: 'session',
      body: totpCodeRequestSchema, response: sessionSchema,
      handler: async ({ body, principal }) => {
        const p = need(principal);
        if (p.session.stage === 'totp') throw new ApiError(409, 'WRONG_STAGE', 'enter your current code first');
        const account = await localAccount(ctx, p);
        if (!account.totpPending) throw new ApiError(409, 'NO_ENROLMENT', 'start with POST /auth/totp/enrol');
        const step = checkTotp(account.totpPending, body.code);
        if (step === undefined) throw new ApiError(401, 'INVALID_CODE', 'wrong code');
        const { totpPending, ...rest } = account;
        await ctx.accounts.save({ ...rest, totpSecret: totpPending, totpLastStep: step });
        await audit(ctx, p, 'account.totp-enrol', account.username, { totpEnrolled: account.totpSecret !== undefined }, { totpEnrolled: true });
        return startSession(ctx, { ...p.session, stage: 'active' }, p.sessionId);
      },
    }),
    route({
      method: 'GET', path: '/auth/session', tag: 'auth', summary: 'The current session (any stage)', access: 'session',
      response: sessionSchema,
      handler: async ({ principal }) => ({ body: await sessionView(ctx, need(principal).session) }),
    }),
    route({
      method: 'GET', path: '/auth/csrf', tag: 'auth', summary: 'The session\'s CSRF token', access: 'session',
      response: csrfSchema,
      handler: async ({ principal }) => ({ body: { csrfToken: need(principal).session.csrf } }),
    }),
    route({
      method: 'POST', path: '/auth/logout', tag: 'auth', summary: 'Sign out', access: 'session',
      response: okSchema,
      handler: async ({ principal }) => {
        await ctx.sessions.destroy(need(principal).sessionId);
        return { body: { ok: true as const }, headers: { 'set-cookie': clearSessionCookie(ctx) } };
      },
    }),
    route({
      method: 'GET', path: '/auth/oidc/start', tag: 'auth', summary: 'Redirect to the OpenID Connect provider', access: 'public',
      other: { 302: 'to the provider' },
      handler: async () => {
        if (!ctx.oidc) throw new ApiError(404, 'NOT_FOUND', 'OpenID Connect is not configured');
        const { url, pendingId } = await ctx.oidc.start();
        return { raw: redirect(url, setCookie(OIDC_COOKIE, pendingId, { secure: secureCookies(ctx), maxAgeS: 600, path: CALLBACK, sameSite: 'Lax' })) };
      },
    }),
    route({
      method: 'GET', path: '/auth/oidc/callback', tag: 'auth', summary: 'Provider redirect back: sets the session, then to /portal/', access: 'public',
      crossSiteNavigation: true, query: z.object({}).loose(),
      other: { 302: 'to /portal/ with the session cookie' },
      handler: async ({ req }) => {
        if (!ctx.oidc) throw new ApiError(404, 'NOT_FOUND', 'OpenID Connect is not configured');
        const pendingId = parseCookies(req.headers.cookie).get(OIDC_COOKIE);
        if (!pendingId) throw new ApiError(400, 'OIDC_STATE', 'sign-in state cookie missing; start again');
        try {
          const who = await ctx.oidc.finish(pendingId, req.query);
          const started = await startSession(ctx, {
            userId: `oidc:${who.subject}`, username: who.username, role: who.role, source: 'oidc', stage: 'active', ...(who.name ? { name: who.name } : {}),
          }, parseCookies(req.headers.cookie).get('parley_admin'));
          ctx.log.info({ username: who.username, role: who.role }, 'admin signed in through OpenID Connect');
          return { raw: redirect('/portal/', started.headers['set-cookie']) };
        } catch (err) {
          if (err instanceof OidcRefused) throw new ApiError(403, 'OIDC_REFUSED', err.message);
          ctx.log.warn({ err }, 'OpenID Connect sign-in failed');
          return { raw: jsonResponse(403, { error: { code: 'OIDC_FAILED', message: 'OpenID Connect sign-in failed; start again' } }) };
        }
      },
    }),
  ];
}

/** Writes one audit record; a failure is logged loudly but does not undo the change. */
export async function audit(
  ctx: AdminContext,
  who: Pick<Principal, 'actor' | 'role'>,
  action: string,
  target: string,
  before: unknown,
  after: unknown,
): Promise<void> {
  try {
    await ctx.audit.write({ actor: who.actor, role: who.role, action, target, before, after });
  } catch (err) {
    ctx.log.error({ err, action, target, actor: who.actor }, 'AUDIT WRITE FAILED: an administrative change is not in the audit log');
  }
}
