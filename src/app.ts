import { hkdfSync } from 'node:crypto';
import path from 'node:path';
import { pino, type Logger } from 'pino';
import { openAnalytics, type Analytics } from '../analytics/open.ts';
import type { AnalyticsSink } from '../analytics/sink.ts';
import { startAdmin, type AdminServer } from './admin/server.ts';
import type { Config } from './config/schema.ts';
import { buildConnectors } from './connectors/index.ts';
import type { Connector } from './core/connector.ts';
import { loadContentKey } from './delivery/crypto.ts';
import { Hub } from './runtime/hub.ts';
import { healthRoutes } from './server/health-routes.ts';
import { HttpServer } from './server/http-server.ts';
import { ManagedRedis } from './state/managed-redis.ts';

export interface App {
  hub: Hub;
  server: HttpServer;
  httpPort: number;
  redisUrl: string;
  managedRedis: ManagedRedis | undefined;
  connectors: readonly Connector[];
  /** The admin listener (undefined when admin.enabled is false or it could not bind). */
  admin: AdminServer | undefined;
  /** The analytics pipeline (undefined when the caller passed its own sink). */
  analytics: Analytics | undefined;
  log: Logger;
  stop(): Promise<void>;
}

export interface AppOptions {
  log?: Logger;
  sink?: AnalyticsSink;
  /** Replaces the connectors the config would build (tests). */
  connectors?: (redisUrl: string) => Connector[];
}

/** Composes Parley: Redis (managed or external), analytics (chDB, ClickHouse or memory), HTTP server, hub, connectors. */
export async function startApp(config: Readonly<Config>, opts: AppOptions = {}): Promise<App> {
  const log = opts.log ?? pino({ level: config.logLevel, base: { app: 'parley' } });
  let managedRedis: ManagedRedis | undefined;
  let redisUrl = config.redis.url;
  if (!redisUrl) {
    managedRedis = await ManagedRedis.start({
      binary: config.redis.binary,
      dir: path.join(config.dataDir, 'redis'),
      port: config.redis.port,
      log,
      supervise: true,
    });
    redisUrl = managedRedis.url;
    log.info({ url: redisUrl, dir: path.resolve(config.dataDir, 'redis') }, 'managed redis-server running (AOF everysec)');
  }
  const server = new HttpServer({ host: config.http.host, port: config.http.port, log });
  const connectors = opts.connectors ? opts.connectors(redisUrl) : buildConnectors(config, redisUrl, connectorSecrets(config));
  const analytics = opts.sink ? undefined : await openAnalytics(config.analytics, config.dataDir, { log });
  let hub: Hub;
  try {
    hub = await Hub.start({
      config,
      redisUrl,
      connectors,
      sink: opts.sink ?? (analytics as Analytics).sink,
      log,
      addRoute: (spec) => server.addRoute(spec),
    });
  } catch (err) {
    await analytics?.close();
    throw err;
  }
  analytics?.writer?.metrics.registerInto(hub.metrics.registry);
  for (const r of healthRoutes(hub)) server.addRoute(r);
  let httpPort: number;
  let admin: AdminServer | undefined;
  try {
    httpPort = await server.listen();
    admin = config.admin.enabled ? await startAdminListener(config, log, redisUrl, hub, connectors, analytics) : undefined;
  } catch (err) {
    await server.close().catch(() => undefined);
    await hub.stop();
    await analytics?.close();
    await managedRedis?.stop();
    throw err;
  }
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      await admin?.close();
      await server.close();
      await hub.stop(); // closes the sink: buffered rows go to ClickHouse or the spool
      await analytics?.close();
      await managedRedis?.stop();
    })());
  return { hub, server, httpPort, redisUrl, managedRedis, connectors, admin, analytics, log, stop };
}

/** The admin listener; a taken port fails start-up with the setting to change. */
async function startAdminListener(
  config: Readonly<Config>,
  log: Logger,
  redisUrl: string,
  hub: Hub,
  connectors: readonly Connector[],
  analytics: Analytics | undefined,
): Promise<AdminServer> {
  const retries = async (): Promise<Record<string, number>> => {
    const out: Record<string, number> = {};
    for (const v of (await hub.metrics.retries.get()).values) {
      const c = String(v.labels.connector ?? '');
      out[c] = (out[c] ?? 0) + v.value;
    }
    return out;
  };
  try {
    const messagesTotal = async (): Promise<number> => (await hub.metrics.ingress.get()).values.reduce((sum, v) => sum + v.value, 0);
    return await startAdmin({ config, log, redisUrl, hub, connectors, analytics: analytics?.store, retries, messagesTotal });
  } catch (err) {
    throw new Error(
      `admin listener could not start on ${config.admin.host}:${config.admin.port} (${(err as Error).message}); set admin.port / PARLEY_ADMIN_PORT`,
      { cause: err },
    );
  }
}

/** Connector secrets derived from the content key (configured, or generated once in the data dir). */
function connectorSecrets(config: Readonly<Config>): { fileLinkKey: Buffer } {
  const content = loadContentKey(config.delivery.encryptionKey, config.dataDir);
  return { fileLinkKey: Buffer.from(hkdfSync('sha256', content, Buffer.alloc(0), 'parley teams file links', 32)) };
}
