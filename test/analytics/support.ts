import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import type { ClickHouseBackend } from '../../analytics/backend.ts';
import { ChdbBackend } from '../../analytics/chdb-backend.ts';
import { HttpBackend } from '../../analytics/http-backend.ts';
import { ANALYTICS_TABLES } from '../../analytics/schema.ts';
import { AnalyticsStore } from '../../analytics/store.ts';
import type { MetadataEvent } from '../../src/core/metadata.ts';

/** Set to run the contract tests against a ClickHouse server as well (they are skipped otherwise). */
export const CLICKHOUSE_URL = process.env.CLICKHOUSE_URL;

export const silent = pino({ level: 'silent' });

export interface TestDb {
  db: ClickHouseBackend;
  store: AnalyticsStore;
  dir: string;
  /** Empties every analytics table (between tests). */
  truncate(): Promise<void>;
  count(table?: string): Promise<number>;
  close(): Promise<void>;
}

/** A fresh chDB database in a temp dir (one per test file: chDB allows one open directory per process). */
export async function openChdb(retentionMonths = 13): Promise<TestDb> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'parley-chdb-test-'));
  const db = await ChdbBackend.open({ path: path.join(dir, 'clickhouse') });
  return wrap(db, dir, retentionMonths);
}

/** A ClickHouse server from CLICKHOUSE_URL; tables are created in the URL's database. */
export async function openServer(retentionMonths = 13): Promise<TestDb> {
  if (!CLICKHOUSE_URL) throw new Error('CLICKHOUSE_URL not set');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'parley-chsrv-test-'));
  return wrap(new HttpBackend({ url: CLICKHOUSE_URL }), dir, retentionMonths);
}

async function wrap(db: ClickHouseBackend, dir: string, retentionMonths: number): Promise<TestDb> {
  const store = new AnalyticsStore(db, { retentionMonths });
  await store.ensureSchema();
  return {
    db,
    store,
    dir,
    async truncate() {
      for (const t of ANALYTICS_TABLES) await db.command(`TRUNCATE TABLE ${t}`);
    },
    async count(table = 'message_log') {
      const r = await db.query<{ n: string | number }>(`SELECT count() AS n FROM ${table}`);
      return Number(r[0]?.n ?? 0);
    },
    async close() {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

let seq = 0;
export function event(over: Partial<MetadataEvent> = {}): MetadataEvent {
  seq++;
  return {
    ts: Date.now(),
    tenant: 'acme',
    messageId: `m${seq}`,
    chatId: `c${seq % 7}`,
    type: 'im',
    sender: `user${seq % 5}@parley.local`,
    receiver: `ext${seq % 3}@partner.example`,
    senderDomain: 'parley.local',
    receiverDomain: 'partner.example',
    senderPlatform: 'teams',
    receiverPlatform: 'xmpp',
    direction: 'outbound',
    outcome: 'delivered',
    reason: '',
    ...over,
  };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function until(cond: () => boolean | Promise<boolean>, timeoutMs = 20_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}
