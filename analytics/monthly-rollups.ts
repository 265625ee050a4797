/**
 * Monthly rollups for the Overview's trailing-12-month reports (schema
 * migration 6). Each is fed by a materialized view chained on a daily rollup's
 * inserts, so a message costs nothing extra at ingest beyond folding the daily
 * block it already produced; a report over whole months then merges a dozen
 * user states per group instead of 365. The answers are the daily rollups'
 * answers (uniq states merge without loss); tests hold them to it.
 *
 * `month` is the first day of the month. Only whole-month ranges can use them
 * (runReport in reports.ts picks them when `from` and `to` are month starts).
 */

/** How many months a monthly row is kept: its month start + retention, like a daily row of that day. */
export const monthlyTtl = (months: number): string => `month + toIntervalMonth(${months})`;

export interface MonthlyRollup {
  table: string;
  /** The daily rollup whose inserts feed it. */
  source: 'tenant_daily' | 'usage_daily';
  columns: string;
  orderBy: string;
  /** Small tables of big states: fine granules let a filtered read skip the states it does not need. */
  granularity?: number;
  select: string;
  /** A filter on the source rows, if any. */
  where?: string;
  group: string;
}

const STATE = 'AggregateFunction(uniqCombined(14), String)';
const SUM = 'SimpleAggregateFunction(sum, UInt64)';

export const MONTHLY_ROLLUPS: readonly MonthlyRollup[] = [
  {
    table: 'tenant_monthly',
    source: 'tenant_daily',
    columns: `month Date, tenant LowCardinality(String), messages ${SUM}, users ${STATE}`,
    orderBy: '(tenant, month)',
    select: `SELECT toStartOfMonth(day) AS month, tenant, sum(messages) AS messages, uniqCombinedMergeState(14)(users) AS users
      FROM tenant_daily`,
    group: 'GROUP BY month, tenant',
  },
  {
    table: 'side_monthly',
    source: 'usage_daily',
    columns: `month Date, tenant LowCardinality(String), internal UInt8, messages ${SUM}, users ${STATE}`,
    orderBy: '(tenant, month, internal)',
    select: `SELECT toStartOfMonth(day) AS month, tenant, internal, sum(messages_class) AS messages,
        uniqCombinedMergeState(14)(users) AS users
      FROM usage_daily`,
    group: 'GROUP BY month, tenant, internal',
  },
  {
    table: 'platform_monthly',
    source: 'usage_daily',
    columns: `month Date, tenant LowCardinality(String), platform LowCardinality(String), messages ${SUM}, users ${STATE}`,
    orderBy: '(tenant, month, platform)',
    select: `SELECT toStartOfMonth(day) AS month, tenant, platform, sum(messages_platform) AS messages,
        uniqCombinedMergeState(14)(users) AS users
      FROM usage_daily`,
    group: 'GROUP BY month, tenant, platform',
  },
  {
    // External (federated) domains only: the top-domains report never reads internal ones.
    table: 'external_domain_monthly',
    source: 'usage_daily',
    columns: `month Date, tenant LowCardinality(String), domain LowCardinality(String), messages ${SUM}, users ${STATE}`,
    orderBy: '(domain, tenant, month)',
    granularity: 4,
    select: `SELECT toStartOfMonth(day) AS month, tenant, domain, sum(messages_domain) AS messages,
        uniqCombinedMergeState(14)(users) AS users
      FROM usage_daily`,
    where: 'internal = 0',
    group: 'GROUP BY month, tenant, domain',
  },
];

/** The SELECT that fills `r`, optionally for some months only (the rebuild after an erasure). */
export function monthlySelect(r: MonthlyRollup, monthFilter?: string): string {
  const where = [r.where, monthFilter].filter((w): w is string => w !== undefined);
  return `${r.select}${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''} ${r.group}`;
}

/** Migration 6: the tables, their chained views, and a backfill from the daily rollups already there. */
export function monthlyRollupStatements(retentionMonths: number, dedupWindow: number): string[] {
  const out: string[] = [];
  for (const r of MONTHLY_ROLLUPS) {
    out.push(
      `CREATE TABLE IF NOT EXISTS ${r.table} (${r.columns}) ENGINE = AggregatingMergeTree
      PARTITION BY toYYYYMM(month) ORDER BY ${r.orderBy}
      TTL ${monthlyTtl(retentionMonths)}
      SETTINGS non_replicated_deduplication_window = ${dedupWindow}${r.granularity ? `, index_granularity = ${r.granularity}` : ''}`,
    );
  }
  // Start-up runs migrations before any insert of this process: the backfill
  // (truncate, then fold the daily rollups) is repeatable if start-up dies half-way.
  for (const r of MONTHLY_ROLLUPS) {
    out.push(`TRUNCATE TABLE ${r.table}`);
    out.push(`INSERT INTO ${r.table} ${monthlySelect(r)} SETTINGS insert_deduplicate = 0`);
  }
  for (const r of MONTHLY_ROLLUPS) {
    out.push(`CREATE MATERIALIZED VIEW IF NOT EXISTS ${r.table}_mv TO ${r.table} AS ${monthlySelect(r)}`);
  }
  return out;
}
