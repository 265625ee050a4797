import path from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../src/config/schema.ts';
import type { ClickHouseBackend } from './backend.ts';
import { ChdbBackend } from './chdb-backend.ts';
import { HttpBackend } from './http-backend.ts';
import { MemorySink, type AnalyticsSink } from './sink.ts';
import { Spool } from './spool.ts';
import { AnalyticsStore } from './store.ts';
import { ClickHouseSink } from './writer.ts';

export type AnalyticsConfig = Config['analytics'];

export const chdbDir = (dataDir: string): string => path.join(dataDir, 'clickhouse');
export const spoolDir = (dataDir: string): string => path.join(dataDir, 'analytics-spool');

/** Opens the configured backend (not for `memory`). */
export async function openBackend(cfg: AnalyticsConfig, dataDir: string, readonly = false): Promise<ClickHouseBackend> {
  if (cfg.backend === 'clickhouse') {
    if (!cfg.url) throw new Error('analytics.url (CLICKHOUSE_URL) is required for the clickhouse backend');
    return new HttpBackend({ url: cfg.url, readonly });
  }
  if (cfg.backend === 'chdb') return ChdbBackend.open({ path: chdbDir(dataDir), readonly });
  throw new Error('the memory analytics backend keeps no database to query');
}

export interface Analytics {
  sink: AnalyticsSink;
  /** Undefined for the memory backend. */
  store: AnalyticsStore | undefined;
  writer: ClickHouseSink | undefined;
  /** Closes the database after the sink was closed (the hub closes the sink). */
  close(): Promise<void>;
}

export interface OpenAnalyticsOptions {
  log: Logger;
  /** Wraps the backend (fault injection in tests). */
  wrap?: (db: ClickHouseBackend) => ClickHouseBackend;
}

/**
 * The analytics pipeline for a running Parley: backend, schema, spool and
 * batching writer. With chDB a failure to open is fatal (it is local); a
 * ClickHouse server that does not answer yet only means rows are spooled
 * until it does (the schema is applied on the first insert that gets through).
 */
export async function openAnalytics(cfg: AnalyticsConfig, dataDir: string, opts: OpenAnalyticsOptions): Promise<Analytics> {
  if (cfg.backend === 'memory') {
    const sink = new MemorySink(100_000);
    return { sink, store: undefined, writer: undefined, close: async () => undefined };
  }
  const raw = await openBackend(cfg, dataDir);
  const db = opts.wrap ? opts.wrap(raw) : raw;
  const store = new AnalyticsStore(db, { retentionMonths: cfg.retentionMonths });
  if (cfg.backend === 'chdb') {
    await store.ensureSchema();
  } else {
    store.ensureSchema().catch((err: unknown) =>
      opts.log.warn({ err: (err as Error).message }, 'ClickHouse not reachable yet: metadata rows are spooled until it is'),
    );
  }
  const writer = new ClickHouseSink({
    target: store,
    spool: new Spool(spoolDir(dataDir), cfg.spoolMaxBytes),
    log: opts.log.child({ component: 'analytics' }),
    batchRows: cfg.batchRows,
    flushIntervalMs: cfg.flushIntervalMs,
    maxBufferedRows: cfg.maxBufferedRows,
  });
  opts.log.info({ backend: cfg.backend, retentionMonths: cfg.retentionMonths }, 'analytics ready');
  return {
    sink: writer,
    store,
    writer,
    async close() {
      await writer.close();
      await store.close();
    },
  };
}
