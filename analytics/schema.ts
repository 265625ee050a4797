import { ident, type ClickHouseBackend } from './backend.ts';
import { MONTHLY_ROLLUPS, monthlyRollupStatements, monthlyTtl } from './monthly-rollups.ts';

/**
 * The analytics schema as versioned migrations. A migration, once released,
 * never changes: a schema change is a new version. Statements are idempotent
 * (IF NOT EXISTS) so a start-up that died half-way through one simply redoes it.
 */
export interface SchemaOptions {
  /** Rows (and rollup rows) older than this many months are dropped by TTL. */
  retentionMonths: number;
}

export interface Migration {
  version: number;
  name: string;
  statements(opts: SchemaOptions): string[];
}

/**
 * How many recent insert blocks each table remembers for deduplication. Every
 * batch carries an insert_deduplication_token, so a replayed batch that
 * already landed is dropped. ClickHouse 26 deduplicates the blocks a
 * materialized view writes on its own target table, so the rollup tables need
 * the window too (measured: without it a replay double-counts the rollups).
 */
export const DEDUP_WINDOW = 10_000;

/** message_log's aggregate projection behind the raw monthly report (migration 5). */
export const TENANT_DAY_PROJECTION = 'tenant_day_users';

export const MESSAGE_LOG_COLUMNS = [
  'ts', 'tenant', 'message_id', 'chat_id', 'type', 'sender', 'receiver',
  'sender_domain', 'receiver_domain', 'sender_platform', 'receiver_platform', 'direction', 'outcome', 'reason',
] as const;

/** Is the sender (resp. receiver) one of the organisation's own users? Derived from direction. */
const SENDER_INTERNAL = "toUInt8(direction IN ('internal', 'outbound'))";
const RECEIVER_INTERNAL = "toUInt8(direction IN ('internal', 'inbound'))";

/**
 * Each message row becomes two party rows (sender side, receiver side):
 * (user, domain, platform, internal, sent, m_domain, m_platform, m_class).
 * The m_* weights count a message once per group of that dimension: the
 * receiver side adds 0 when it falls into the sender's group, so summing
 * m_domain by domain counts each message once for every domain it touches.
 */
export const PARTY_ARRAY = `[
    (sender, sender_domain, sender_platform, ${SENDER_INTERNAL}, toUInt8(1), toUInt8(1), toUInt8(1), toUInt8(1)),
    (receiver, receiver_domain, receiver_platform, ${RECEIVER_INTERNAL}, toUInt8(0),
     toUInt8(receiver_domain != sender_domain), toUInt8(receiver_platform != sender_platform),
     toUInt8(${RECEIVER_INTERNAL} != ${SENDER_INTERNAL}))
  ]`;

/** The SELECT behind usage_daily (its materialized view and the erasure rebuild use the same text). */
export const USAGE_DAILY_SELECT = `SELECT
    toDate(ts) AS day, tenant, p.2 AS domain, p.3 AS platform, p.4 AS internal, type, outcome,
    sum(p.5) AS messages, sum(p.6) AS messages_domain, sum(p.7) AS messages_platform, sum(p.8) AS messages_class,
    uniqCombinedState(14)(p.1) AS users
  FROM message_log
  ARRAY JOIN ${PARTY_ARRAY} AS p`;
export const USAGE_DAILY_GROUP = 'GROUP BY day, tenant, domain, platform, internal, type, outcome';

/** Per-user party rows: (user, domain, platform, internal, sent, received, counterpart). */
export const USER_ARRAY = `[
    (sender, sender_domain, sender_platform, ${SENDER_INTERNAL}, toUInt8(1), toUInt8(0), receiver),
    (receiver, receiver_domain, receiver_platform, ${RECEIVER_INTERNAL}, toUInt8(0), toUInt8(1), sender)
  ]`;

/** The SELECT behind user_daily: per user and day, what they sent and received and with how many others. */
export const USER_DAILY_SELECT = `SELECT
    toDate(ts) AS day, tenant, p.1 AS user, p.2 AS domain, p.3 AS platform, p.4 AS internal, type,
    sum(p.5) AS sent, sum(p.6) AS received, uniqCombinedState(14)(p.7) AS counterparts
  FROM message_log
  ARRAY JOIN ${USER_ARRAY} AS p`;
export const USER_DAILY_GROUP = 'GROUP BY day, tenant, user, domain, platform, internal, type';

/** The SELECT behind tenant_daily: the smallest rollup, for the headline monthly report. */
export const TENANT_DAILY_SELECT = `SELECT
    toDate(ts) AS day, tenant, sum(p.2) AS messages, uniqCombinedState(14)(p.1) AS users
  FROM message_log
  ARRAY JOIN [(sender, toUInt8(1)), (receiver, toUInt8(0))] AS p`;
export const TENANT_DAILY_GROUP = 'GROUP BY day, tenant';

/** Every rollup with the SELECT that fills it (its view, and the rebuild after an erasure). */
export const ROLLUPS = [
  { table: 'tenant_daily', select: TENANT_DAILY_SELECT, group: TENANT_DAILY_GROUP },
  { table: 'usage_daily', select: USAGE_DAILY_SELECT, group: USAGE_DAILY_GROUP },
  { table: 'user_daily', select: USER_DAILY_SELECT, group: USER_DAILY_GROUP },
] as const;
export const ANALYTICS_TABLES = ['message_log', ...ROLLUPS.map((r) => r.table), ...MONTHLY_ROLLUPS.map((r) => r.table)] as const;

const months = (o: SchemaOptions): number => {
  if (!Number.isInteger(o.retentionMonths) || o.retentionMonths < 1 || o.retentionMonths > 1200) {
    throw new Error(`retentionMonths must be an integer in 1..1200, got ${o.retentionMonths}`);
  }
  return o.retentionMonths;
};

export const rawTtl = (o: SchemaOptions): string => `toDateTime(ts) + toIntervalMonth(${months(o)})`;
export const rollupTtl = (o: SchemaOptions): string => `day + toIntervalMonth(${months(o)})`;

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'message_log',
    statements: (o) => [
      `CREATE TABLE IF NOT EXISTS message_log (
        ts DateTime64(3, 'UTC'),
        tenant LowCardinality(String),
        message_id String,
        chat_id String,
        type LowCardinality(String),
        sender String,
        receiver String,
        sender_domain LowCardinality(String),
        receiver_domain LowCardinality(String),
        sender_platform LowCardinality(String),
        receiver_platform LowCardinality(String),
        direction LowCardinality(String),
        outcome LowCardinality(String),
        reason LowCardinality(String),
        INDEX sender_bf sender TYPE bloom_filter(0.01) GRANULARITY 4,
        INDEX receiver_bf receiver TYPE bloom_filter(0.01) GRANULARITY 4
      ) ENGINE = MergeTree
      PARTITION BY toYYYYMM(ts)
      ORDER BY (tenant, ts)
      TTL ${rawTtl(o)}
      SETTINGS non_replicated_deduplication_window = ${DEDUP_WINDOW}, ttl_only_drop_parts = 0`,
    ],
  },
  {
    version: 2,
    name: 'usage_daily and tenant_daily rollups',
    statements: (o) => [
      `CREATE TABLE IF NOT EXISTS usage_daily (
        day Date,
        tenant LowCardinality(String),
        domain LowCardinality(String),
        platform LowCardinality(String),
        internal UInt8,
        type LowCardinality(String),
        outcome LowCardinality(String),
        messages SimpleAggregateFunction(sum, UInt64),
        messages_domain SimpleAggregateFunction(sum, UInt64),
        messages_platform SimpleAggregateFunction(sum, UInt64),
        messages_class SimpleAggregateFunction(sum, UInt64),
        users AggregateFunction(uniqCombined(14), String)
      ) ENGINE = AggregatingMergeTree
      PARTITION BY toYYYYMM(day)
      ORDER BY (tenant, day, internal, domain, platform, type, outcome)
      TTL ${rollupTtl(o)}
      SETTINGS non_replicated_deduplication_window = ${DEDUP_WINDOW}`,
      `CREATE MATERIALIZED VIEW IF NOT EXISTS usage_daily_mv TO usage_daily AS ${USAGE_DAILY_SELECT} ${USAGE_DAILY_GROUP}`,
      `CREATE TABLE IF NOT EXISTS tenant_daily (
        day Date,
        tenant LowCardinality(String),
        messages SimpleAggregateFunction(sum, UInt64),
        users AggregateFunction(uniqCombined(14), String)
      ) ENGINE = AggregatingMergeTree
      PARTITION BY toYYYYMM(day)
      ORDER BY (tenant, day)
      TTL ${rollupTtl(o)}
      SETTINGS non_replicated_deduplication_window = ${DEDUP_WINDOW}`,
      `CREATE MATERIALIZED VIEW IF NOT EXISTS tenant_daily_mv TO tenant_daily AS ${TENANT_DAILY_SELECT} ${TENANT_DAILY_GROUP}`,
    ],
  },
  {
    version: 3,
    name: 'user_daily rollup',
    statements: (o) => [
      `CREATE TABLE IF NOT EXISTS user_daily (
        day Date,
        tenant LowCardinality(String),
        user String,
        domain LowCardinality(String),
        platform LowCardinality(String),
        internal UInt8,
        type LowCardinality(String),
        sent SimpleAggregateFunction(sum, UInt64),
        received SimpleAggregateFunction(sum, UInt64),
        counterparts AggregateFunction(uniqCombined(14), String)
      ) ENGINE = AggregatingMergeTree
      PARTITION BY toYYYYMM(day)
      ORDER BY (tenant, user, day, domain, platform, internal, type)
      TTL ${rollupTtl(o)}
      SETTINGS non_replicated_deduplication_window = ${DEDUP_WINDOW}`,
      `CREATE MATERIALIZED VIEW IF NOT EXISTS user_daily_mv TO user_daily AS ${USER_DAILY_SELECT} ${USER_DAILY_GROUP}`,
    ],
  },
  {
    version: 4,
    name: 'admin_audit',
    // Administrative changes (who, when, what, before, after). Not under the metadata retention: kept until deleted.
    statements: () => [
      `CREATE TABLE IF NOT EXISTS admin_audit (
        id String,
        at DateTime64(3, 'UTC'),
        actor String,
        role LowCardinality(String),
        action LowCardinality(String),
        target String,
        before String,
        after String
      ) ENGINE = MergeTree
      PARTITION BY toYYYYMM(at)
      ORDER BY (at, id)`,
    ],
  },
  {
    version: 5,
    name: 'message_log projection: users and messages per tenant and day',
    statements: () => [
      // The monthly report over the raw table reads this aggregate projection instead of
      // hashing every sender and receiver (see RAW_MONTHLY in reports.ts, which must keep
      // the same GROUP BY and aggregate expressions for ClickHouse to pick it).
      `ALTER TABLE message_log ADD PROJECTION IF NOT EXISTS ${TENANT_DAY_PROJECTION} (
        SELECT tenant, toDate(ts), count(), uniqCombinedArray(14)([sender, receiver]) GROUP BY tenant, toDate(ts)
      )`,
      // Parts written before this migration get it too (a background mutation; until it is
      // done ClickHouse reads those parts' columns instead, with the same result).
      `ALTER TABLE message_log MATERIALIZE PROJECTION ${TENANT_DAY_PROJECTION}`,
    ],
  },
  {
    version: 6,
    name: 'monthly rollups for the trailing-12-month reports',
    statements: (o) => monthlyRollupStatements(months(o), DEDUP_WINDOW),
  },
];

const MIGRATIONS_TABLE = `CREATE TABLE IF NOT EXISTS parley_migrations (
  version UInt32, name String, applied_at DateTime64(3, 'UTC') DEFAULT now64(3)
) ENGINE = MergeTree ORDER BY version`;

export interface MigrationResult {
  applied: number[];
  current: number;
}

/** Applies the migrations not yet recorded, in order, then makes the TTLs match the configured retention. */
export async function migrate(db: ClickHouseBackend, opts: SchemaOptions): Promise<MigrationResult> {
  await db.command(MIGRATIONS_TABLE);
  const done = new Set(
    (await db.query<{ version: number | string }>('SELECT DISTINCT version FROM parley_migrations')).map((r) => Number(r.version)),
  );
  const applied: number[] = [];
  for (const m of MIGRATIONS) {
    if (done.has(m.version)) continue;
    for (const stmt of m.statements(opts)) await db.command(stmt);
    await db.command('INSERT INTO parley_migrations (version, name) VALUES ({v:UInt32}, {n:String})', { v: m.version, n: m.name });
    applied.push(m.version);
  }
  await applyRetention(db, opts);
  return { applied, current: Math.max(0, ...MIGRATIONS.map((m) => m.version)) };
}

/** Changes the TTL of every table whose TTL differs from the configured retention. */
export async function applyRetention(db: ClickHouseBackend, opts: SchemaOptions): Promise<void> {
  const n = months(opts);
  const rows = await db.query<{ name: string; engine_full: string }>(
    `SELECT name, engine_full FROM system.tables WHERE database = currentDatabase() AND name IN (${ANALYTICS_TABLES.map((t) => `'${t}'`).join(', ')})`,
  );
  for (const { name, engine_full } of rows) {
    if (engine_full.includes(`toIntervalMonth(${n})`)) continue;
    const ttl = name === 'message_log' ? rawTtl(opts) : MONTHLY_ROLLUPS.some((r) => r.table === name) ? monthlyTtl(n) : rollupTtl(opts);
    await db.command(`ALTER TABLE ${ident(name)} MODIFY TTL ${ttl}`);
  }
}
