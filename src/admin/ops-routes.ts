import { REPORTS, trailingYear, type ReportName } from '../../analytics/reports.ts';
import { route, type AnyRoute } from './api.ts';
import { audit } from './auth-routes.ts';
import type { AdminContext } from './context.ts';
import { actor, ADMIN } from './federation-routes.ts';
import { ApiError, csvOf } from './http.ts';
import {
  auditListSchema,
  auditQuerySchema,
  connectorListSchema,
  deadLetterActionResultSchema,
  deadLetterActionSchema,
  deadLetterListSchema,
  deadLetterQuerySchema,
  REPORT_ROUTE_NAMES,
  reportListSchema,
  reportQuerySchema,
  reportResultSchema,
  reportRowSchemas,
} from './schemas.ts';

const READERS = { roles: ['admin', 'analyst'], token: true } as const;

/** Connectors, dead letters, reports and the audit list. */
export function opsRoutes(ctx: AdminContext): AnyRoute[] {
  const deadLetterAction = (kind: 'replay' | 'discard') =>
    route({
      method: 'POST', path: `/dead-letters/${kind}`, tag: 'connectors',
      summary: kind === 'replay' ? 'Deliver failed jobs again' : 'Delete failed jobs for good', access: ADMIN,
      body: deadLetterActionSchema, response: deadLetterActionResultSchema,
      handler: async ({ body, principal }) => {
        if (!ctx.queues.has(body.connector)) throw new ApiError(404, 'NOT_FOUND', `no connector ${body.connector}`);
        const result = kind === 'replay' ? await ctx.queues.replay(body.connector, body.ids) : await ctx.queues.discard(body.connector, body.ids);
        await audit(ctx, actor(principal), `deadletter.${kind}`, `${body.connector}: ${body.ids.join(',')}`.slice(0, 2000), { ids: body.ids }, result);
        return { body: result };
      },
    });

  const report = (name: (typeof REPORT_ROUTE_NAMES)[number]) =>
    route({
      method: 'GET', path: `/reports/${name}`, tag: 'reports', summary: REPORTS[name].description, access: READERS,
      query: reportQuerySchema, response: reportResultSchema(reportRowSchemas[name]),
      other: { '200 text/csv': 'with format=csv' },
      handler: async ({ query }) => {
        if (!ctx.reports) throw new ApiError(503, 'NO_ANALYTICS', 'the memory analytics backend keeps no data to report on');
        const range = trailingYear();
        const params: Record<string, string | number> = { from: query.from ?? range.from, to: query.to ?? range.to, tenant: query.tenant ?? '' };
        if (name === 'top-domains' && query.limit !== undefined) params.limit = query.limit;
        if (name === 'domain-detail') params.domain = query.domain ?? '';
        if (name === 'user-detail') params.user = query.user ?? '';
        const checked = REPORTS[name as ReportName].params.safeParse(params);
        if (!checked.success) throw new ApiError(400, 'INVALID', 'report parameters are invalid', checked.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
        const rows = (await ctx.reports.run(name, params)).map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === 'bigint' ? Number(v) : v])));
        if (query.format === 'csv') {
          const columns = Object.keys(reportRowSchemas[name].shape);
          return {
            raw: {
              status: 200,
              headers: {
                'content-type': 'text/csv; charset=utf-8',
                'content-disposition': `attachment; filename="${name}_${params.from}_${params.to}.csv"`,
                'cache-control': 'no-store',
              },
              body: csvOf(rows, columns),
            },
          };
        }
        return { body: { report: name, from: String(params.from), to: String(params.to), tenant: String(params.tenant), rows: rows as never[] } };
      },
    });

  return [
    route({
      method: 'GET', path: '/connectors', tag: 'connectors', summary: 'State, queue depths and retries of each connector', access: ADMIN,
      response: connectorListSchema,
      handler: async () => {
        const r = ctx.hub.readiness();
        const retries = await ctx.retries();
        const connectors = await Promise.all(
          ctx.connectors.map(async (c) => {
            const s = r.connectors[c.name] ?? c.status();
            return {
              name: c.name,
              platforms: [...c.platforms],
              state: s.state,
              since: s.since,
              ...(s.detail ? { detail: s.detail } : {}),
              queue: await ctx.queues.counts(c.name),
              retries: retries[c.name] ?? 0,
              counters: { ...(c.counters?.() ?? {}) },
            };
          }),
        );
        return { body: { ready: r.ready, redis: r.redis, connectors } };
      },
    }),
    route({
      method: 'GET', path: '/dead-letters', tag: 'connectors', summary: 'Failed delivery jobs: metadata only, never content', access: ADMIN,
      query: deadLetterQuerySchema, response: deadLetterListSchema,
      handler: async ({ query }) => {
        if (query.connector && !ctx.queues.has(query.connector)) throw new ApiError(404, 'NOT_FOUND', `no connector ${query.connector}`);
        return { body: await ctx.queues.deadLetters(query.connector, query.offset, query.limit) };
      },
    }),
    deadLetterAction('replay'),
    deadLetterAction('discard'),
    route({
      method: 'GET', path: '/reports', tag: 'reports', summary: 'The available reports', access: READERS,
      response: reportListSchema,
      handler: async () => ({
        body: { reports: REPORT_ROUTE_NAMES.map((n) => ({ name: n, description: REPORTS[n].description, path: `/admin/api/v1/reports/${n}` })) },
      }),
    }),
    ...REPORT_ROUTE_NAMES.map(report),
    route({
      method: 'GET', path: '/audit', tag: 'audit', summary: 'Administrative changes, newest first', access: ADMIN,
      query: auditQuerySchema, response: auditListSchema,
      handler: async ({ query }) => ({ body: await ctx.audit.list(query) }),
    }),
  ];
}

