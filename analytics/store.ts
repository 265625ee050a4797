import type { ClickHouseBackend, InsertFormat } from './backend.ts';
import { runReport, type ReportName, type ReportParams, type ReportRow, type Source } from './reports.ts';
import { MONTHLY_ROLLUPS, monthlySelect } from './monthly-rollups.ts';
import { ANALYTICS_TABLES, MESSAGE_LOG_COLUMNS, ROLLUPS, migrate, type SchemaOptions } from './schema.ts';
import type { BatchTarget } from './writer.ts';

export interface ErasureResult {
  /** message_log rows removed. */
  rows: number;
  /** Months (YYYYMM) whose rollups were rebuilt. */
  months: number[];
}

/**
 * The analytics database: schema on first use, batch inserts (serialised with
 * erasure so a rollup rebuild never races an insert from this process),
 * reports, analysts' read-only SQL and per-user erasure.
 */
export class AnalyticsStore implements BatchTarget {
  private chain: Promise<unknown> = Promise.resolve();
  private migrated: Promise<void> | undefined;

  constructor(
    readonly db: ClickHouseBackend,
    private readonly schema: SchemaOptions,
    private readonly readonly = false,
  ) {}

  /** Applies pending migrations (once per store; retried after a failure). */
  ensureSchema(): Promise<void> {
    if (this.readonly) return Promise.resolve();
    this.migrated ??= migrate(this.db, this.schema).then(
      () => undefined,
      (err: unknown) => {
        this.migrated = undefined;
        throw err;
      },
    );
    return this.migrated;
  }

  /** Runs `fn` after every earlier exclusive call of this store has finished. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn, fn);
    this.chain = run.catch(() => undefined);
    return run;
  }

  get format(): InsertFormat {
    return this.db.batchFormat;
  }

  insertBatch(batchId: string, payload: Buffer, format: InsertFormat = 'TabSeparated'): Promise<void> {
    return this.exclusive(async () => {
      await this.ensureSchema();
      await this.db.insertRows('message_log', MESSAGE_LOG_COLUMNS, payload, format, {
        insert_deduplication_token: batchId,
        // The rollup views' GROUP BY already leaves one row per key in each block they write:
        // merging the block again on insert only costs CPU (~15% of an insert, measured).
        optimize_on_insert: 0,
      });
    });
  }

  report<N extends ReportName>(name: N, params: Partial<ReportParams<N>>, source: Source = 'rollup'): Promise<ReportRow<N>[]> {
    return runReport(this.db, name, params, source);
  }

  /**
   * Privacy erasure: deletes every message_log row where `user` is sender or
   * receiver (a synchronous mutation), then rebuilds the rollups of the months
   * those rows were in from what remains: a uniq state cannot forget one user,
   * so the affected months are recomputed into a scratch table and swapped in
   * with REPLACE PARTITION (atomic per month; no mutation on the rollups).
   * Inserts from this process wait meanwhile.
   */
  eraseUser(user: string): Promise<ErasureResult> {
    if (user.length === 0 || user.length > 1024) throw new Error('user must be 1..1024 characters');
    return this.exclusive(async () => {
      await this.ensureSchema();
      const u = { u: user };
      const where = 'sender = {u:String} OR receiver = {u:String}';
      const found = await this.db.query<{ month: number | string; n: string | number }>(
        `SELECT toYYYYMM(ts) AS month, count() AS n FROM message_log WHERE ${where} GROUP BY month ORDER BY month`,
        u,
      );
      const months = found.map((r) => Number(r.month)).filter((m) => Number.isInteger(m) && m > 197000 && m < 300000);
      const rows = found.reduce((s, r) => s + Number(r.n), 0);
      if (months.length === 0) return { rows: 0, months: [] };
      // ALTER ... DELETE rewrites the parts: the rows are physically gone when it returns
      // (a lightweight DELETE would only mask them until a merge).
      await this.db.command(`ALTER TABLE message_log DELETE WHERE ${where} SETTINGS mutations_sync = 2`, u);
      await this.rebuildRollups(months);
      return { rows, months };
    });
  }

  /**
   * Recomputes the rollups of the given months (YYYYMM) from message_log, then
   * the monthly rollups from the rebuilt daily ones, and swaps them in (also
   * used to fill rollups after a bulk load without views).
   */
  async rebuildRollups(
    months: readonly number[],
    tables: readonly string[] = [...ROLLUPS.map((r) => r.table), ...MONTHLY_ROLLUPS.map((r) => r.table)],
  ): Promise<void> {
    if (!months.every((m) => Number.isInteger(m) && m > 197000 && m < 300000)) throw new Error('months must be YYYYMM');
    const p = { months: `[${months.join(',')}]` };
    const jobs = [
      ...ROLLUPS.filter((r) => tables.includes(r.table)).map((r) => ({
        table: r.table,
        select: `${r.select} WHERE toYYYYMM(ts) IN {months:Array(UInt32)} ${r.group}`,
      })),
      ...MONTHLY_ROLLUPS.filter((r) => tables.includes(r.table)).map((r) => ({
        table: r.table,
        select: monthlySelect(r, 'toYYYYMM(day) IN {months:Array(UInt32)}'),
      })),
    ];
    for (const { table, select } of jobs) {
      const scratch = `${table}_rebuild`;
      await this.db.command(`DROP TABLE IF EXISTS ${scratch} SYNC`);
      await this.db.command(`CREATE TABLE ${scratch} AS ${table}`);
      try {
        // A rebuilt block may equal one inserted earlier: deduplication must not swallow it.
        await this.db.command(`INSERT INTO ${scratch} ${select} SETTINGS insert_deduplicate = 0`, p);
        for (const m of months) await this.db.command(`ALTER TABLE ${table} REPLACE PARTITION ID '${m}' FROM ${scratch}`);
      } finally {
        await this.db.command(`DROP TABLE IF EXISTS ${scratch} SYNC`);
      }
    }
  }

  /** Drops what is past the TTL now instead of at the next merge. */
  async applyTtlNow(): Promise<void> {
    await this.exclusive(async () => {
      for (const t of ANALYTICS_TABLES) {
        await this.db.command(`ALTER TABLE ${t} MATERIALIZE TTL SETTINGS mutations_sync = 2`);
      }
    });
  }

  async close(): Promise<void> {
    await this.chain;
    await this.db.close();
  }
}
