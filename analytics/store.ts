import type { ClickHouseBackend } from './backend.ts';
import { runReport, type ReportName, type ReportParams, type ReportRow, type Source } from './reports.ts';
import {
  MESSAGE_LOG_COLUMNS,
  USAGE_DAILY_GROUP,
  USAGE_DAILY_SELECT,
  USER_DAILY_GROUP,
  USER_DAILY_SELECT,
  migrate,
  type SchemaOptions,
} from './schema.ts';
import type { BatchTarget } from './writer.ts';

export interface ErasureResult {
  /** message_log rows removed. */
  rows: number;
  /** Days whose rollups were rebuilt. */
  days: string[];
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

  insertBatch(batchId: string, payload: Buffer): Promise<void> {
    return this.exclusive(async () => {
      await this.ensureSchema();
      await this.db.insertTsv('message_log', MESSAGE_LOG_COLUMNS, payload, { insert_deduplication_token: batchId });
    });
  }

  report<N extends ReportName>(name: N, params: Partial<ReportParams<N>>, source: Source = 'rollup'): Promise<ReportRow<N>[]> {
    return runReport(this.db, name, params, source);
  }

  /**
   * Privacy erasure: deletes every message_log row where `user` is sender or
   * receiver, then rebuilds the rollups of the days those rows were on from
   * what remains (a uniq state cannot forget one user, so the affected days
   * are recomputed). Inserts from this process wait meanwhile.
   */
  eraseUser(user: string): Promise<ErasureResult> {
    if (user.length === 0 || user.length > 1024) throw new Error('user must be 1..1024 characters');
    return this.exclusive(async () => {
      await this.ensureSchema();
      const u = { u: user };
      const where = 'sender = {u:String} OR receiver = {u:String}';
      const found = await this.db.query<{ day: string; n: string | number }>(
        `SELECT toString(toDate(ts)) AS day, count() AS n FROM message_log WHERE ${where} GROUP BY day ORDER BY day`,
        u,
      );
      const days = found.map((r) => r.day).filter((d) => /^\d{4}-\d{2}-\d{2}$/.test(d));
      const rows = found.reduce((s, r) => s + Number(r.n), 0);
      if (days.length === 0) return { rows: 0, days: [] };
      await this.db.command(`ALTER TABLE message_log DELETE WHERE ${where} SETTINGS mutations_sync = 2`, u);
      await this.rebuildRollups(days);
      return { rows, days };
    });
  }

  /** Recomputes the rollups of the given days from message_log. */
  private async rebuildRollups(days: readonly string[]): Promise<void> {
    const p = { days: `[${days.map((d) => `'${d}'`).join(',')}]` };
    const inDays = 'toDate(ts) IN {days:Array(Date)}';
    for (const [table, select, group] of [
      ['usage_daily', USAGE_DAILY_SELECT, USAGE_DAILY_GROUP],
      ['user_daily', USER_DAILY_SELECT, USER_DAILY_GROUP],
    ] as const) {
      await this.db.command(`ALTER TABLE ${table} DELETE WHERE day IN {days:Array(Date)} SETTINGS mutations_sync = 2`, p);
      // A rebuilt block may equal one inserted earlier: deduplication must not swallow it.
      await this.db.command(`INSERT INTO ${table} ${select} WHERE ${inDays} ${group} SETTINGS insert_deduplicate = 0`, p);
    }
  }

  /** Drops what is past the TTL now instead of at the next merge. */
  async applyTtlNow(): Promise<void> {
    await this.exclusive(async () => {
      for (const t of ['message_log', 'usage_daily', 'user_daily']) {
        await this.db.command(`ALTER TABLE ${t} MATERIALIZE TTL SETTINGS mutations_sync = 2`);
      }
    });
  }

  async close(): Promise<void> {
    await this.chain;
    await this.db.close();
  }
}
