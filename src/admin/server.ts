import type { Logger } from 'pino';
import type { AnalyticsStore } from '../../analytics/store.ts';
import type { Config } from '../config/schema.ts';
import { json } from '../core/http.ts';
import { HttpServer } from '../server/http-server.ts';
import { PolicyStore } from '../state/policy-store.ts';
import { connectRedis } from '../state/redis.ts';
import { SnapshotStore } from '../state/snapshots.ts';
import { RedisUserDirectory } from '../state/user-directory.ts';
import { AccountStore } from './accounts.ts';
import { accountRoutes } from './account-routes.ts';
import { sessionOf, toRouteSpec, type AnyRoute } from './api.ts';
import { ClickHouseAuditLog, MemoryAuditLog, type AuditLog } from './audit.ts';
import { authRoutes } from './auth-routes.ts';
import type { AdminContext, AdminHub, ConnectorView } from './context.ts';
import { federationRoutes } from './federation-routes.ts';
import { SECURITY_HEADERS } from './http.ts';
import { OidcLogin } from './oidc.ts';
import { openApiDocument } from './openapi.ts';
import { opsRoutes } from './ops-routes.ts';
import { DeliveryQueues } from './queues.ts';
import type { ReportRunner } from './reports.ts';
import { portalRoutes } from '../portal/serve.ts';
import { MessageRateFeed } from '../server/ws-feed.ts';
import { OPENAPI_PATH } from './schemas.ts';
import { SessionStore } from './sessions.ts';
import { ApiTokenStore } from './tokens.ts';
import { userRoutes } from './user-routes.ts';

export interface AdminOptions {
  config: Readonly<Config>;
  log: Logger;
  redisUrl: string;
  hub: AdminHub;
  connectors: readonly ConnectorView[];
  /** The analytics store (reports, audit in ClickHouse); undefined with the memory backend. */
  analytics?: AnalyticsStore | undefined;
  /** Overrides the audit log the analytics store would give. */
  audit?: AuditLog;
  retries?: () => Promise<Record<string, number>>;
  /** Messages ingested so far (a monotonic count), for the portal's live figure. */
  messagesTotal?: () => Promise<number>;
  /** Bind the socket (default true); tests may use inject() only. */
  listen?: boolean;
  /** Where the setup token is shown besides the log (default stdout). */
  announce?: (line: string) => void;
}

export interface AdminServer {
  server: HttpServer;
  port: number;
  context: AdminContext;
  routes: readonly AnyRoute[];
  /** Printed at start-up while no account exists. */
  setupToken: string | undefined;
  close(): Promise<void>;
}

/** The admin listener: admin API (and later the portal) on a host and port of its own. */
/** The portal's live messages-per-minute figure (WebSocket), for signed-in sessions. */
export const LIVE_FEED_PATH = '/admin/api/v1/live';

export async function startAdmin(opts: AdminOptions): Promise<AdminServer> {
  const { config, log } = opts;
  const prefix = config.redis.keyPrefix;
  const redis = connectRedis(opts.redisUrl, 'parley-admin');
  const policyRedis = connectRedis(opts.redisUrl, 'parley-admin-policy');
  for (const r of [redis, policyRedis]) r.on('error', (err: Error) => log.debug({ err: err.message }, 'admin redis connection error'));
  const store = opts.analytics;
  let audit = opts.audit;
  if (!audit && store) audit = new ClickHouseAuditLog(store.db, () => store.ensureSchema());
  if (!audit) {
    log.warn('analytics backend is memory: the admin audit log is kept in memory and lost on restart');
    audit = new MemoryAuditLog();
  }
  const reports: ReportRunner | undefined = store
    ? { run: (name, params) => store.report(name, params) as Promise<Array<Record<string, unknown>>> }
    : undefined;
  const server = new HttpServer({ host: config.admin.host, port: config.admin.port, log, defaultHeaders: SECURITY_HEADERS });
  let boundPort = config.admin.port;
  const queues = new DeliveryQueues(redis, prefix, opts.connectors.map((c) => c.name));
  const ctx: AdminContext = {
    config,
    log: log.child({ component: 'admin' }),
    hub: opts.hub,
    connectors: opts.connectors,
    redis,
    policy: new PolicyStore(policyRedis, prefix),
    accounts: new AccountStore(redis, prefix),
    sessions: new SessionStore(redis, prefix, { ttlMs: config.admin.session.ttlMinutes * 60_000, idleMs: config.admin.session.idleMinutes * 60_000 }),
    tokens: new ApiTokenStore(redis, prefix),
    directory: new RedisUserDirectory(redis, prefix),
    snapshots: new SnapshotStore(redis, prefix, config.runtime.snapshotTtlDays * 86_400),
    queues,
    reports,
    audit,
    oidc: OidcLogin.from(config.admin.oidc, redis, prefix),
    retries: opts.retries ?? (async () => ({})),
    port: () => boundPort,
  };
  const routes = [...authRoutes(ctx), ...accountRoutes(ctx), ...federationRoutes(ctx), ...userRoutes(ctx), ...opsRoutes(ctx)];
  for (const r of routes) server.addRoute(toRouteSpec(ctx, r));
  const document = JSON.stringify(openApiDocument(routes));
  server.addRoute({
    method: 'GET',
    path: OPENAPI_PATH,
    maxBodyBytes: 0,
    handler: async () => ({ ...json(200, null), body: document }),
  });
  // The portal (its built files) and its live figure, on the same listener and behind the same sessions.
  for (const r of portalRoutes()) server.addRoute(r);
  const feed = new MessageRateFeed({
    path: LIVE_FEED_PATH,
    log,
    origins: config.admin.origins,
    count: opts.messagesTotal ?? (() => 0),
    authorize: async (headers) => {
      const s = await sessionOf(ctx, { method: 'GET', path: LIVE_FEED_PATH, query: '', headers, body: Buffer.alloc(0) });
      return s?.data.stage === 'active';
    },
  });
  feed.attach(server);
  const setupToken = await ctx.accounts.setupToken();
  if (setupToken) {
    log.warn({ setupToken }, 'no admin account yet: create the first one with this one-time setup token');
  }
  if (opts.listen !== false) {
    try {
      boundPort = await server.listen();
    } catch (err) {
      feed.stop();
      await queues.close();
      redis.disconnect();
      policyRedis.disconnect();
      throw err;
    }
  }
  if (setupToken) {
    const where = `http://${config.admin.host.includes(':') ? `[${config.admin.host}]` : config.admin.host}:${boundPort}/portal/`;
    (opts.announce ?? ((line: string) => console.log(line)))(`Parley admin setup: open ${where} and use the one-time setup token ${setupToken}`);
  }
  return {
    server,
    get port() {
      return boundPort;
    },
    context: ctx,
    routes,
    setupToken,
    async close() {
      feed.stop();
      await server.close();
      await queues.close();
      redis.disconnect();
      policyRedis.disconnect();
    },
  };
}
