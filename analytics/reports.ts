import { z } from 'zod';
import type { ClickHouseBackend, QueryParams } from './backend.ts';
import { PARTY_ARRAY, USER_ARRAY } from './schema.ts';

/**
 * Typed report queries. Every report has two SQL texts, one over the raw
 * message_log and one over the daily rollups, which must give the same rows
 * (tests hold them to it). User input reaches ClickHouse only as bound query
 * parameters, validated here first; the SQL text is fixed.
 *
 * Definitions: a "message" is one row of message_log (any type, any outcome).
 * "Users" are distinct addresses appearing as sender or receiver. In a split
 * (by internal/external side, platform or domain) a message counts once for
 * every group it touches: a message from a teams user to an xmpp user counts
 * for teams and for xmpp, so the groups of a month may sum to more than the
 * month's total. Unique counts use uniqCombined(14), raw and rollups alike:
 * exact for small sets, then a HyperLogLog of 2^14 cells (about 1% error)
 * whose states merge without loss, so raw and rollups still agree.
 */
const DAY = /^\d{4}-\d{2}-\d{2}$/;
const day = z
  .string()
  .regex(DAY, 'must be a date YYYY-MM-DD')
  .refine((s) => !Number.isNaN(Date.parse(`${s}T00:00:00Z`)) && new Date(`${s}T00:00:00Z`).toISOString().startsWith(s), 'not a valid date')
  .refine((s) => s >= '1970-01-01' && s <= '2105-12-31', 'out of range');
const text = (max: number) => z.string().max(max).regex(/^[^\0\n\r]*$/, 'must be a single line');

export const baseParams = z
  .object({
    /** First day included (UTC). */
    from: day,
    /** First day not included (UTC). */
    to: day,
    /** '' means every tenant. */
    tenant: text(200).default(''),
  })
  .refine((p) => p.from < p.to, { message: 'from must be before to', path: ['to'] });

const num = z.coerce.number();
const monthRow = z.object({ month: z.string(), users: num, messages: num });

/**
 * Where a report reads: the raw message_log; the daily rollups; or 'rollup',
 * the best rollup for the range (the monthly rollups of monthly-rollups.ts when
 * the range is whole months and the report has one, the daily ones otherwise).
 */
export type Source = 'raw' | 'daily' | 'rollup';
export const SOURCES: readonly Source[] = ['raw', 'daily', 'rollup'];

interface ReportDef<P extends z.ZodType, R extends z.ZodType> {
  description: string;
  params: P;
  row: R;
  /** `rollup` is the SQL over the daily rollups. */
  sql: { raw: string; rollup: string; monthly?: string };
}

/**
 * The day of `ts` (UTC column) bounds the range: the same rows as comparing `ts`
 * itself, and it lets the monthly report match message_log's aggregate
 * projection (keyed by tenant and toDate(ts)).
 */
const RAW_WHERE = `toDate(ts) >= {from:Date} AND toDate(ts) < {to:Date}
  AND ({tenant:String} = '' OR tenant = {tenant:String})`;
const ROLLUP_WHERE = `day >= {from:Date} AND day < {to:Date} AND ({tenant:String} = '' OR tenant = {tenant:String})`;
/** Monthly tables are read as `r`: the output column `month` (a string) must not shadow the table's Date column. */
const MONTHLY_WHERE = `r.month >= {from:Date} AND r.month < {to:Date} AND ({tenant:String} = '' OR r.tenant = {tenant:String})`;

const def = <P extends z.ZodType, R extends z.ZodType>(d: ReportDef<P, R>): ReportDef<P, R> => d;

export const REPORTS = {
  monthly: def({
    description: 'per month: unique users and messages',
    params: baseParams,
    row: monthRow,
    sql: {
      // Answered from the tenant_day_users projection (schema migration 5): keep these expressions.
      raw: `SELECT toString(toStartOfMonth(toDate(ts))) AS month, uniqCombinedArray(14)([sender, receiver]) AS users, count() AS messages
        FROM message_log WHERE ${RAW_WHERE} GROUP BY month ORDER BY month`,
      rollup: `SELECT toString(toStartOfMonth(day)) AS month, uniqCombinedMerge(14)(users) AS users, sum(messages) AS messages
        FROM tenant_daily WHERE ${ROLLUP_WHERE} GROUP BY month ORDER BY month`,
      monthly: `SELECT toString(r.month) AS month, uniqCombinedMerge(14)(users) AS users, sum(messages) AS messages
        FROM tenant_monthly AS r WHERE ${MONTHLY_WHERE} GROUP BY month ORDER BY month`,
    },
  }),
  'monthly-by-side': def({
    description: 'per month and side (internal = the organisation\'s own domains, external = federated partners)',
    params: baseParams,
    row: monthRow.extend({ side: z.enum(['internal', 'external']) }),
    sql: {
      raw: `SELECT toString(toStartOfMonth(ts)) AS month, if(p.4 = 1, 'internal', 'external') AS side,
          uniqCombined(14)(p.1) AS users, sum(p.8) AS messages
        FROM message_log ARRAY JOIN ${PARTY_ARRAY} AS p WHERE ${RAW_WHERE} GROUP BY month, side ORDER BY month, side`,
      rollup: `SELECT toString(toStartOfMonth(day)) AS month, if(internal = 1, 'internal', 'external') AS side,
          uniqCombinedMerge(14)(users) AS users, sum(messages_class) AS messages
        FROM usage_daily WHERE ${ROLLUP_WHERE} GROUP BY month, side ORDER BY month, side`,
      monthly: `SELECT toString(r.month) AS month, if(internal = 1, 'internal', 'external') AS side,
          uniqCombinedMerge(14)(users) AS users, sum(messages) AS messages
        FROM side_monthly AS r WHERE ${MONTHLY_WHERE} GROUP BY month, side ORDER BY month, side`,
    },
  }),
  'monthly-by-platform': def({
    description: 'per month and platform',
    params: baseParams,
    row: monthRow.extend({ platform: z.string() }),
    sql: {
      raw: `SELECT toString(toStartOfMonth(ts)) AS month, toString(p.3) AS platform, uniqCombined(14)(p.1) AS users, sum(p.7) AS messages
        FROM message_log ARRAY JOIN ${PARTY_ARRAY} AS p WHERE ${RAW_WHERE} GROUP BY month, platform ORDER BY month, platform`,
      rollup: `SELECT toString(toStartOfMonth(day)) AS month, toString(platform) AS platform, uniqCombinedMerge(14)(users) AS users,
          sum(messages_platform) AS messages
        FROM usage_daily WHERE ${ROLLUP_WHERE} GROUP BY month, platform ORDER BY month, platform`,
      monthly: `SELECT toString(r.month) AS month, toString(platform) AS platform, uniqCombinedMerge(14)(users) AS users,
          sum(messages) AS messages
        FROM platform_monthly AS r WHERE ${MONTHLY_WHERE} GROUP BY month, platform ORDER BY month, platform`,
    },
  }),
  'top-domains': def({
    description: 'external (federated) domains by messages over the range',
    params: baseParams.safeExtend({ limit: z.coerce.number().int().min(1).max(10_000).default(20) }),
    row: z.object({ domain: z.string(), users: num, messages: num }),
    sql: {
      raw: `SELECT toString(p.2) AS domain, uniqCombined(14)(p.1) AS users, sum(p.6) AS messages
        FROM message_log ARRAY JOIN ${PARTY_ARRAY} AS p WHERE ${RAW_WHERE} AND p.4 = 0
        GROUP BY domain ORDER BY messages DESC, domain LIMIT {limit:UInt32}`,
      // Ranked by the message sums first (no states read); user states are merged for the top N only.
      rollup: `SELECT toString(domain) AS domain, uniqCombinedMerge(14)(users) AS users, sum(messages_domain) AS messages
        FROM usage_daily WHERE ${ROLLUP_WHERE} AND internal = 0 AND domain IN (
          SELECT domain FROM usage_daily WHERE ${ROLLUP_WHERE} AND internal = 0
          GROUP BY domain ORDER BY sum(messages_domain) DESC, domain LIMIT {limit:UInt32})
        GROUP BY domain ORDER BY messages DESC, domain`,
      monthly: `SELECT toString(domain) AS domain, uniqCombinedMerge(14)(users) AS users, sum(messages) AS messages
        FROM external_domain_monthly AS r WHERE ${MONTHLY_WHERE} AND domain IN (
          SELECT domain FROM external_domain_monthly AS r WHERE ${MONTHLY_WHERE}
          GROUP BY domain ORDER BY sum(messages) DESC, domain LIMIT {limit:UInt32})
        GROUP BY domain ORDER BY messages DESC, domain`,
    },
  }),
  'domain-detail': def({
    description: 'one domain: per month and message type',
    params: baseParams.safeExtend({ domain: text(253).min(1) }),
    row: monthRow.extend({ type: z.string() }),
    sql: {
      raw: `SELECT toString(toStartOfMonth(ts)) AS month, toString(type) AS type, uniqCombined(14)(p.1) AS users, sum(p.6) AS messages
        FROM message_log ARRAY JOIN ${PARTY_ARRAY} AS p
        WHERE ${RAW_WHERE} AND (sender_domain = {domain:String} OR receiver_domain = {domain:String}) AND p.2 = {domain:String}
        GROUP BY month, type ORDER BY month, type`,
      rollup: `SELECT toString(toStartOfMonth(day)) AS month, toString(type) AS type, uniqCombinedMerge(14)(users) AS users,
          sum(messages_domain) AS messages
        FROM usage_daily WHERE ${ROLLUP_WHERE} AND domain = {domain:String}
        GROUP BY month, type ORDER BY month, type`,
    },
  }),
  'user-detail': def({
    description: 'one user: per month and message type, sent, received and distinct counterparts',
    params: baseParams.safeExtend({ user: text(1024).min(1) }),
    row: z.object({ month: z.string(), type: z.string(), sent: num, received: num, counterparts: num }),
    sql: {
      raw: `SELECT toString(toStartOfMonth(ts)) AS month, toString(type) AS type, sum(p.5) AS sent, sum(p.6) AS received,
          uniqCombined(14)(p.7) AS counterparts
        FROM message_log ARRAY JOIN ${USER_ARRAY} AS p
        WHERE ${RAW_WHERE} AND (sender = {user:String} OR receiver = {user:String}) AND p.1 = {user:String}
        GROUP BY month, type ORDER BY month, type`,
      rollup: `SELECT toString(toStartOfMonth(day)) AS month, toString(type) AS type, sum(sent) AS sent, sum(received) AS received,
          uniqCombinedMerge(14)(counterparts) AS counterparts
        FROM user_daily WHERE ${ROLLUP_WHERE} AND user = {user:String}
        GROUP BY month, type ORDER BY month, type`,
    },
  }),
} as const;

export type Reports = typeof REPORTS;
export type ReportName = keyof Reports;
export const REPORT_NAMES = Object.keys(REPORTS) as ReportName[];
export type ReportParams<N extends ReportName> = z.input<Reports[N]['params']>;
export type ReportRow<N extends ReportName> = z.output<Reports[N]['row']>;

export const isReportName = (s: string): s is ReportName => Object.hasOwn(REPORTS, s);

/** First day of the month `monthsBack` months before the month of `now`, as YYYY-MM-DD (UTC). */
export function monthStart(now: Date, monthsBack: number): string {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - monthsBack, 1)).toISOString().slice(0, 10);
}

/** The trailing 12 months: from the first day of the month 11 months ago to the first day of next month. */
export function trailingYear(now = new Date()): { from: string; to: string } {
  return { from: monthStart(now, 11), to: monthStart(now, -1) };
}

const isMonthStart = (d: string): boolean => d.endsWith('-01');

/** The SQL a report runs for a source and (validated) range. */
export function reportSql(report: ReportDef<z.ZodType, z.ZodType>, source: Source, range: { from: string; to: string }): string {
  if (source === 'raw') return report.sql.raw;
  if (source === 'rollup' && report.sql.monthly && isMonthStart(range.from) && isMonthStart(range.to)) return report.sql.monthly;
  return report.sql.rollup;
}

/** Runs a report after validating its parameters (throws a ZodError on bad input). */
export async function runReport<N extends ReportName>(
  db: ClickHouseBackend,
  name: N,
  input: Partial<ReportParams<N>>,
  source: Source = 'rollup',
): Promise<ReportRow<N>[]> {
  const report: Reports[N] = REPORTS[name];
  const params = report.params.parse({ ...trailingYear(), ...input }) as QueryParams & { from: string; to: string };
  const rows = await db.query<unknown>(reportSql(report, source, params), params);
  const rowSchema: z.ZodType = z.array(report.row);
  return rowSchema.parse(rows) as ReportRow<N>[];
}
