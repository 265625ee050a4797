/**
 * The portal benchmark's dataset: N metadata rows generated inside ClickHouse
 * (INSERT ... SELECT FROM numbers(), 10M at a time) over the trailing 12
 * months, then the rollups the Overview reads (tenant_daily, usage_daily and
 * the monthly rollups folded from them) filled in one pass with the views' own SELECTs and merged (OPTIMIZE FINAL,
 * the steady state background merges reach). Feeding 1e8 rows through the
 * views block by block takes ~30 min here; the one-pass fill ~5 min.
 * A directory that already holds a complete dataset of the same size is reused.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ChdbBackend } from '../../analytics/chdb-backend.ts';
import { MONTHLY_ROLLUPS } from '../../analytics/monthly-rollups.ts';
import { MIGRATIONS } from '../../analytics/schema.ts';
import type { AnalyticsStore } from '../../analytics/store.ts';
import { generateMessageLogSql } from './message-log-sql.ts';

export const DATASET = {
  internalUsers: 50_000,
  externalUsers: 200_000,
  externalDomains: 200,
  tenants: ['acme', 'globex'],
};

export interface DatasetInfo {
  rows: number;
  reused: boolean;
  generate_s?: number;
  rollup_fill_s?: number;
  optimize_final_s?: number;
  sizes: Record<string, { rows: number; mb: number }>;
}

const round1 = (x: number): number => Math.round(x * 10) / 10;

/** Fills `store` (already migrated) with `rows` rows unless `dir` records a complete dataset of that size. */
export async function prepareDataset(store: AnalyticsStore, db: ChdbBackend, dir: string, rows: number, log: (s: string) => void): Promise<DatasetInfo> {
  const marker = path.join(dir, 'portal-dataset.json');
  if (existsSync(marker)) {
    const done = JSON.parse(readFileSync(marker, 'utf8')) as DatasetInfo;
    const count = Number((await db.query<{ n: string }>('SELECT count() AS n FROM message_log'))[0]?.n ?? 0);
    if (done.rows === rows && count === rows) {
      await mutationsDone(db, log);
      return { ...done, reused: true };
    }
  }
  const monthly = MONTHLY_ROLLUPS.map((r) => r.table);
  for (const t of ['message_log', 'tenant_daily', 'usage_daily', 'user_daily', ...monthly]) await db.command(`TRUNCATE TABLE IF EXISTS ${t}`);
  // The views are dropped for the load and the rollups filled in one pass afterwards.
  for (const v of ['tenant_daily_mv', 'usage_daily_mv', 'user_daily_mv']) await db.command(`DROP VIEW IF EXISTS ${v}`);
  const info: DatasetInfo = { rows, reused: false, sizes: {} };
  const chunk = 10_000_000;
  const g0 = performance.now();
  for (let off = 0; off < rows; off += chunk) {
    await db.command(generateMessageLogSql(Math.min(chunk, rows - off), off, { ...DATASET, skewedDomains: true }));
    log(`generated ${Math.min(rows, off + chunk).toLocaleString('en-US')} rows (${Math.round((performance.now() - g0) / 1000)} s)`);
  }
  info.generate_s = round1((performance.now() - g0) / 1000);
  const r0 = performance.now();
  const months = (await db.query<{ m: number }>('SELECT DISTINCT toYYYYMM(ts) AS m FROM message_log ORDER BY m')).map((r) => Number(r.m));
  await store.rebuildRollups(months, ['tenant_daily', 'usage_daily', ...monthly]);
  info.rollup_fill_s = round1((performance.now() - r0) / 1000);
  log(`rollups filled (${info.rollup_fill_s} s)`);
  const o0 = performance.now();
  for (const t of ['message_log', 'tenant_daily', 'usage_daily', ...monthly]) await db.command(`OPTIMIZE TABLE ${t} FINAL`);
  info.optimize_final_s = round1((performance.now() - o0) / 1000);
  log(`merged (${info.optimize_final_s} s)`);
  // Put the views back so the schema is the one Parley runs with.
  for (const m of MIGRATIONS) for (const s of m.statements({ retentionMonths: 13 })) if (s.includes('MATERIALIZED VIEW')) await db.command(s);
  const sizes = await db.query<{ table: string; rows: string; bytes: string }>(
    'SELECT table, toString(sum(rows)) AS rows, toString(sum(bytes_on_disk)) AS bytes FROM system.parts WHERE active AND database = currentDatabase() GROUP BY table ORDER BY table',
  );
  for (const s of sizes) info.sizes[s.table] = { rows: Number(s.rows), mb: round1(Number(s.bytes) / 1024 ** 2) };
  const count = Number((await db.query<{ n: string }>('SELECT count() AS n FROM message_log'))[0]?.n ?? 0);
  if (count !== rows) throw new Error(`generated ${count} rows, expected ${rows}`);
  writeFileSync(marker, JSON.stringify(info));
  return info;
}

/** A reused dataset may have just gained a migration's background mutation (a projection): measure after it. */
async function mutationsDone(db: ChdbBackend, log: (s: string) => void): Promise<void> {
  const t0 = performance.now();
  for (;;) {
    const left = Number((await db.query<{ n: string }>('SELECT count() AS n FROM system.mutations WHERE NOT is_done'))[0]?.n ?? 0);
    if (left === 0) break;
    log(`waiting for ${left} background mutation(s) (${Math.round((performance.now() - t0) / 1000)} s)`);
    await new Promise((r) => setTimeout(r, 10_000));
  }
}
