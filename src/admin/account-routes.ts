import { z } from 'zod';
import { route, type AnyRoute } from './api.ts';
import type { Account } from './accounts.ts';
import { audit } from './auth-routes.ts';
import type { AdminContext } from './context.ts';
import { actor } from './federation-routes.ts';
import { ApiError } from './http.ts';
import { hashPassword } from './passwords.ts';
import {
  accountCreateSchema,
  accountListSchema,
  accountSchema,
  apiTokenCreatedSchema,
  apiTokenCreateSchema,
  apiTokenListSchema,
  okSchema,
} from './schemas.ts';
import type { ApiToken } from './tokens.ts';

/** Sessions of admins only: an API token cannot mint tokens or accounts. */
const ADMIN_SESSION = { roles: ['admin'], token: false } as const;
const idQuery = z.object({ id: z.string().min(1).max(128) });

const accountView = (a: Account, lockedUntil?: number) => ({
  id: a.id,
  username: a.username,
  ...(a.name ? { name: a.name } : {}),
  role: a.role,
  totpEnrolled: a.totpSecret !== undefined,
  createdAt: a.createdAt,
  ...(lockedUntil ? { lockedUntil } : {}),
});

const tokenView = ({ hash: _hash, ...t }: ApiToken) => t;

export function accountRoutes(ctx: AdminContext): AnyRoute[] {
  return [
    route({
      method: 'GET', path: '/accounts', tag: 'accounts', summary: 'Local accounts', access: ADMIN_SESSION,
      response: accountListSchema,
      handler: async () => {
        const all = await ctx.accounts.list();
        return { body: { accounts: await Promise.all(all.map(async (a) => accountView(a, await ctx.accounts.lockedUntil(a.username)))) } };
      },
    }),
    route({
      method: 'POST', path: '/accounts', tag: 'accounts', summary: 'Create a local account (admins enrol TOTP at first sign-in)', access: ADMIN_SESSION,
      body: accountCreateSchema, response: accountSchema, status: 201,
      handler: async ({ body, principal }) => {
        const a = await ctx.accounts.create({ username: body.username, role: body.role, passwordHash: await hashPassword(body.password), ...(body.name ? { name: body.name } : {}) });
        if (!a) throw new ApiError(409, 'EXISTS', `username ${body.username} is taken`);
        await audit(ctx, actor(principal), 'account.create', a.username, null, accountView(a));
        return { body: accountView(a), status: 201 };
      },
    }),
    route({
      method: 'DELETE', path: '/accounts', tag: 'accounts', summary: 'Delete a local account (?id=)', access: ADMIN_SESSION,
      query: idQuery, response: okSchema,
      handler: async ({ query, principal }) => {
        const a = await ctx.accounts.byId(query.id);
        if (!a) throw new ApiError(404, 'NOT_FOUND', 'no such account');
        if (a.id === principal?.session?.userId) throw new ApiError(409, 'SELF', 'you cannot delete your own account');
        await ctx.accounts.remove(a.username);
        await audit(ctx, actor(principal), 'account.delete', a.username, accountView(a), null);
        return { body: { ok: true as const } };
      },
    }),
    route({
      method: 'GET', path: '/tokens', tag: 'tokens', summary: 'API tokens (never their secrets)', access: ADMIN_SESSION,
      response: apiTokenListSchema,
      handler: async () => ({ body: { tokens: (await ctx.tokens.list()).map(tokenView) } }),
    }),
    route({
      method: 'POST', path: '/tokens', tag: 'tokens', summary: 'Create an API token; the secret is in this answer only', access: ADMIN_SESSION,
      body: apiTokenCreateSchema, response: apiTokenCreatedSchema, status: 201,
      handler: async ({ body, principal }) => {
        const p = actor(principal);
        const { token, info } = await ctx.tokens.create({
          name: body.name,
          scopes: [...new Set(body.scopes)],
          createdBy: p.actor,
          ...(body.expiresInDays ? { expiresAt: Date.now() + body.expiresInDays * 86_400_000 } : {}),
        });
        await audit(ctx, p, 'token.create', `${info.name} (${info.id})`, null, tokenView(info));
        return { body: { token, info: tokenView(info) }, status: 201 };
      },
    }),
    route({
      method: 'DELETE', path: '/tokens', tag: 'tokens', summary: 'Revoke an API token (?id=)', access: ADMIN_SESSION,
      query: idQuery, response: okSchema,
      handler: async ({ query, principal }) => {
        const t = (await ctx.tokens.list()).find((x) => x.id === query.id);
        if (!t || !(await ctx.tokens.remove(query.id))) throw new ApiError(404, 'NOT_FOUND', 'no such token');
        await audit(ctx, actor(principal), 'token.delete', `${t.name} (${t.id})`, tokenView(t), null);
        return { body: { ok: true as const } };
      },
    }),
  ];
}
