import type { DomainRule, PolicySnapshot } from '../core/policy.ts';
import { route, type AnyRoute, type Principal } from './api.ts';
import { audit } from './auth-routes.ts';
import type { AdminContext } from './context.ts';
import { ApiError } from './http.ts';
import {
  defaultActionSchema,
  domainQuerySchema,
  federationCreateSchema,
  federationListSchema,
  federationSchema,
  federationUpdateSchema,
  okSchema,
  type Federation,
} from './schemas.ts';

export const ADMIN = { roles: ['admin'], token: true } as const;

export function actor(p: Principal | undefined): Principal {
  if (!p) throw new ApiError(401, 'UNAUTHENTICATED', 'sign in first');
  return p;
}

const view = (r: DomainRule): Federation => ({
  domain: r.domain,
  action: r.action,
  kind: r.kind,
  ...(r.platforms ? { platforms: r.platforms } : {}),
  ...(r.label !== undefined ? { label: r.label } : {}),
});

type Change = (current: PolicySnapshot) => Omit<PolicySnapshot, 'version'> | undefined;

/**
 * Applies a policy change through PolicyStore.update (which publishes it to
 * every node and shard). `change` returns undefined to refuse without writing;
 * it never throws inside the WATCH/MULTI cycle.
 */
async function changePolicy(ctx: AdminContext, change: Change): Promise<{ before: PolicySnapshot; after: PolicySnapshot } | undefined> {
  const before = await ctx.policy.load();
  if (!before || !change(before)) return undefined;
  let refused = false;
  let seen = before;
  const after = await ctx.policy.update((current) => {
    seen = current;
    const next = change(current);
    refused = next === undefined;
    return next ?? { defaultAction: current.defaultAction, domains: current.domains, disabledUsers: current.disabledUsers };
  });
  return refused ? undefined : { before: seen, after };
}

export function federationRoutes(ctx: AdminContext): AnyRoute[] {
  const list = async () => {
    const p = await ctx.policy.load();
    if (!p) throw new ApiError(503, 'NO_POLICY', 'no federation policy stored yet');
    return { version: p.version, defaultAction: p.defaultAction, localDomains: [...ctx.config.federation.localDomains], domains: p.domains.map(view) };
  };
  return [
    route({
      method: 'GET', path: '/federations', tag: 'federations', summary: 'Federated domain rules and the default action', access: ADMIN,
      response: federationListSchema,
      handler: async () => ({ body: await list() }),
    }),
    route({
      method: 'POST', path: '/federations', tag: 'federations', summary: 'Add a domain rule (409 if the domain has one)', access: ADMIN,
      body: federationCreateSchema, response: federationSchema, status: 201,
      handler: async ({ body, principal }) => {
        const rule: DomainRule = { ...body, domain: body.domain.toLowerCase() };
        const done = await changePolicy(ctx, (cur) =>
          cur.domains.some((d) => d.domain === rule.domain) ? undefined : { ...cur, domains: [...cur.domains, rule] },
        );
        if (!done) throw new ApiError(409, 'EXISTS', `${rule.domain} already has a rule; update it instead`);
        await audit(ctx, actor(principal), 'federation.create', rule.domain, null, view(rule));
        return { body: view(rule), status: 201 };
      },
    }),
    route({
      method: 'PUT', path: '/federations', tag: 'federations', summary: 'Change a domain rule (?domain=)', access: ADMIN,
      query: domainQuerySchema, body: federationUpdateSchema, response: federationSchema,
      handler: async ({ query, body, principal }) => {
        let updated: DomainRule | undefined;
        const done = await changePolicy(ctx, (cur) => {
          const old = cur.domains.find((d) => d.domain === query.domain);
          if (!old) return undefined;
          const next: DomainRule = { ...old };
          if (body.action !== undefined) next.action = body.action;
          if (body.kind !== undefined) next.kind = body.kind;
          if (body.platforms === null) delete next.platforms;
          else if (body.platforms !== undefined) next.platforms = body.platforms;
          if (body.label === null) delete next.label;
          else if (body.label !== undefined) next.label = body.label;
          updated = next;
          return { ...cur, domains: cur.domains.map((d) => (d.domain === query.domain ? next : d)) };
        });
        if (!done || !updated) throw new ApiError(404, 'NOT_FOUND', `no rule for ${query.domain}`);
        const before = done.before.domains.find((d) => d.domain === query.domain);
        await audit(ctx, actor(principal), 'federation.update', query.domain, before ? view(before) : null, view(updated));
        return { body: view(updated) };
      },
    }),
    route({
      method: 'DELETE', path: '/federations', tag: 'federations', summary: 'Remove a domain rule (?domain=); the default action applies again', access: ADMIN,
      query: domainQuerySchema, response: okSchema,
      handler: async ({ query, principal }) => {
        const done = await changePolicy(ctx, (cur) =>
          cur.domains.some((d) => d.domain === query.domain) ? { ...cur, domains: cur.domains.filter((d) => d.domain !== query.domain) } : undefined,
        );
        if (!done) throw new ApiError(404, 'NOT_FOUND', `no rule for ${query.domain}`);
        const before = done.before.domains.find((d) => d.domain === query.domain);
        await audit(ctx, actor(principal), 'federation.delete', query.domain, before ? view(before) : null, null);
        return { body: { ok: true as const } };
      },
    }),
    route({
      method: 'PUT', path: '/federations/default', tag: 'federations', summary: 'The action for domains without a rule', access: ADMIN,
      body: defaultActionSchema, response: federationListSchema,
      handler: async ({ body, principal }) => {
        const done = await changePolicy(ctx, (cur) => ({ ...cur, defaultAction: body.defaultAction }));
        if (!done) throw new ApiError(503, 'NO_POLICY', 'no federation policy stored yet');
        await audit(ctx, actor(principal), 'federation.default', '*', { defaultAction: done.before.defaultAction }, { defaultAction: body.defaultAction });
        return { body: await list() };
      },
    }),
  ];
}
