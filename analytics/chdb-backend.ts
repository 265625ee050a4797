import { randomUUID } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Session } from 'chdb';
import {
  ident, parseJsonEachRow, settingLiteral, type ClickHouseBackend, type InsertFormat, type QueryParams, type Settings,
} from './backend.ts';

export interface ChdbOptions {
  /** Data directory (created if missing). */
  path: string;
  /** Session-level readonly=1: no writes, no setting changes, for analysts' SQL. */
  readonly?: boolean;
}

/**
 * Embedded ClickHouse (chDB). chDB keeps one engine per process and one
 * connection per data path: a process opens one ChdbBackend per directory.
 * Every call uses chDB's async API, which runs the engine on libuv's thread
 * pool: only building the payload and parsing results touch the event loop.
 *
 * RowBinary batches: chDB's insert() takes text formats only (its inline-data
 * path garbles binary payloads: measured, about half of 50,000-row RowBinary
 * batches fail), so a RowBinary batch is written to a scratch file and read
 * with INSERT ... SELECT FROM file(), which parses it at about half the CPU of
 * TabSeparated. The file is not fsynced: the batch is still in the writer's
 * hands until the insert returns.
 */
/**
 * The type a column is read from a batch file as. LowCardinality columns are
 * read as their plain type and converted once on insert: reading them as
 * LowCardinality builds a dictionary per file block first (measured: about
 * 2.5 µs more CPU per message_log row, ~60% of the bare insert).
 */
const fileType = (type: string): string => /^LowCardinality\((.+)\)$/.exec(type)?.[1] ?? type;

export class ChdbBackend implements ClickHouseBackend {
  readonly kind = 'chdb' as const;
  readonly batchFormat: InsertFormat = 'RowBinary';
  private readonly structures = new Map<string, string>();

  private constructor(
    private readonly session: Session,
    private readonly scratchDir: string,
  ) {}

  static async open(opts: ChdbOptions): Promise<ChdbBackend> {
    mkdirSync(opts.path, { recursive: true });
    const scratchDir = path.resolve(opts.path, 'parley_ingest');
    if (!opts.readonly) {
      // Left by a process that died mid-insert: those batches are replayed from the writer's spool, if anywhere.
      rmSync(scratchDir, { recursive: true, force: true });
      mkdirSync(scratchDir, { recursive: true });
    }
    const session = new Session(opts.path);
    const backend = new ChdbBackend(session, scratchDir);
    if (opts.readonly) await backend.command('SET readonly = 1');
    return backend;
  }

  async command(sql: string, params?: QueryParams): Promise<void> {
    if (params && Object.keys(params).length > 0) await this.session.queryBindAsync(sql, params, { format: 'TabSeparated' });
    else await this.session.queryAsync(sql, { format: 'TabSeparated' });
  }

  async query<T>(sql: string, params?: QueryParams): Promise<T[]> {
    const res =
      params && Object.keys(params).length > 0
        ? await this.session.queryBindAsync(sql, params, { format: 'JSONEachRow' })
        : await this.session.queryAsync(sql, { format: 'JSONEachRow' });
    return parseJsonEachRow<T>(res.text());
  }

  async insertRows(table: string, columns: readonly string[], payload: Buffer, format: InsertFormat, settings: Settings = {}): Promise<void> {
    if (payload.length === 0) return;
    if (format === 'TabSeparated') {
      await this.session.insert({ table: ident(table), columns: columns.map(ident), values: payload, format, settings: { ...settings } });
      return;
    }
    const cols = columns.map(ident).join(', ');
    const structure = await this.structure(table, columns);
    const sets = Object.entries(settings).map(([k, v]) => `${ident(k)} = ${settingLiteral(v)}`);
    const file = path.join(this.scratchDir, `${randomUUID()}.rowbinary`);
    await writeFile(file, payload);
    try {
      await this.command(
        `INSERT INTO ${ident(table)} (${cols}) ${sets.length > 0 ? `SETTINGS ${sets.join(', ')} ` : ''}` +
          `SELECT ${cols} FROM file({file:String}, 'RowBinary', {structure:String})`,
        { file, structure },
      );
    } finally {
      await unlink(file).catch(() => undefined);
    }
  }

  /** `name Type, ...` of the given columns as the batch file holds them, from the table itself (cached: migrations run before inserts). */
  private async structure(table: string, columns: readonly string[]): Promise<string> {
    const key = `${table}(${columns.join(',')})`;
    const known = this.structures.get(key);
    if (known) return known;
    const rows = await this.query<{ name: string; type: string }>(
      'SELECT name, type FROM system.columns WHERE database = currentDatabase() AND table = {t:String}',
      { t: table },
    );
    const types = new Map(rows.map((r) => [r.name, r.type]));
    const structure = columns
      .map((c) => {
        const type = types.get(c);
        if (!type) throw new Error(`table ${table} has no column ${c}`);
        return `${ident(c)} ${fileType(type)}`;
      })
      .join(', ');
    this.structures.set(key, structure);
    return structure;
  }

  async close(): Promise<void> {
    this.session.close();
  }
}
