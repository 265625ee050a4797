/**
 * The portal benchmark's dataset: N metadata rows generated inside ClickHouse
 * (INSERT ... SELECT FROM numbers(), 10M at a time) over the trailing 12
 * months, then the rollups the Overview reads (tenant_daily, usage_daily)
 * filled in one pass with the views' own SELECTs and merged (OPTIMIZE FINAL,
 * the steady state background merges reach). Feeding 1e8 rows through the
 * views block by block takes ~30 min here; the one-pass fill ~5 min.
 * A directory that already holds a complete dataset of the same size is reused.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ChdbBackend } from '../../analytics/chdb-backend.ts';
import { MIGRATIONS } from '../../analytics/schema.ts';
import type { AnalyticsStore } from '../../analytics/store.ts';

export const DATASET = {
  internalUsers: 50_000,
  externalUsers: 200_000,
  externalDomains: 200,
  tenants: ['acme', 'globex'],
};

function generateSql(rows: number, offset: number): string {
  return `INSERT INTO message_log
  SELECT
    toDateTime64(toUnixTimestamp(toDateTime(toStartOfMonth(now()) - toIntervalMonth(11))) + (cityHash64(number, 1) % span), 3, 'UTC') AS ts,
    if(number % 2 = 0, 'acme', 'globex') AS tenant,
    concat('m', toString(number)) AS message_id,
    concat('c', toString(cityHash64(number, 2) % 1000000)) AS chat_id,
    ['im','im','im','im','presence','typing','reaction','file'][1 + number % 8] AS type,
    if(outbound, local_user, ext_user) AS sender,
    if(outbound, ext_user, local_user) AS receiver,
    if(outbound, 'parley.local', ext_domain) AS sender_domain,
    if(outbound, ext_domain, 'parley.local') AS receiver_domain,
    if(outbound, 'teams', ext_platform) AS sender_platform,
    if(outbound, ext_platform, 'teams') AS receiver_platform,
    if(outbound, 'outbound', 'inbound') AS direction,
    'delivered' AS outcome,
    '' AS reason
  FROM (
    SELECT number + ${offset} AS number,
      toUInt64(toUnixTimestamp(now()) - toUnixTimestamp(toDateTime(toStartOfMonth(now()) - toIntervalMonth(11)))) AS span,
      cityHash64(number, 3) % 3 != 0 AS outbound,
      concat('u', toString(cityHash64(number, 4) % ${DATASET.internalUsers}), '@parley.local') AS local_user,
      -- skewed toward low domain numbers so the top-domains chart has a shape
      toUInt32(floor(pow(cityHash64(number, 5) % 10000 / 10000, 2) * ${DATASET.externalDomains})) AS d,
      concat('e', toString(cityHash64(number, 6) % ${DATASET.externalUsers}), '@d', toString(d), '.example') AS ext_user,
      concat('d', toString(d), '.example') AS ext_domain,
      if(d % 2 = 0, 'xmpp', 'sip') AS ext_platform
    FROM numbers(${rows})
  )
  SETTINGS insert_deduplicate = 0`;
}

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
    if (done.rows === rows && count === rows) return { ...done, reused: true };
  }
  for (const t of ['message_log', 'tenant_daily', 'usage_daily', 'user_daily']) await db.command(`TRUNCATE TABLE IF EXISTS ${t}`);
  // The views are dropped for the load and the rollups filled in one pass afterwards.
  for (const v of ['tenant_daily_mv', 'usage_daily_mv', 'user_daily_mv']) await db.command(`DROP VIEW IF EXISTS ${v}`);
  const info: DatasetInfo = { rows, reused: false, sizes: {} };
  const chunk = 10_000_000;
  const g0 = performance.now();
  for (let off = 0; off < rows; off += chunk) {
    await db.command(generateSql(Math.min(chunk, rows - off), off));
    log(`generated ${Math.min(rows, off + chunk).toLocaleString('en-US')} rows (${Math.round((performance.now() - g0) / 1000)} s)`);
  }
  info.generate_s = round1((performance.now() - g0) / 1000);
  const r0 = performance.now();
  const months = (await db.query<{ m: number }>('SELECT DISTINCT toYYYYMM(ts) AS m FROM message_log ORDER BY m')).map((r) => Number(r.m));
  await store.rebuildRollups(months, ['tenant_daily', 'usage_daily']);
  info.rollup_fill_s = round1((performance.now() - r0) / 1000);
  log(`rollups filled (${info.rollup_fill_s} s)`);
  const o0 = performance.now();
  for (const t of ['message_log', 'tenant_daily', 'usage_daily']) await db.command(`OPTIMIZE TABLE ${t} FINAL`);
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
