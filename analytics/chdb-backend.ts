import { mkdirSync } from 'node:fs';
import { Session } from 'chdb';
import { ident, parseJsonEachRow, type ClickHouseBackend, type QueryParams, type Settings } from './backend.ts';

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
 */
export class ChdbBackend implements ClickHouseBackend {
  readonly kind = 'chdb' as const;
  private constructor(private readonly session: Session) {}

  static async open(opts: ChdbOptions): Promise<ChdbBackend> {
    mkdirSync(opts.path, { recursive: true });
    const session = new Session(opts.path);
    const backend = new ChdbBackend(session);
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

  async insertTsv(table: string, columns: readonly string[], payload: Buffer, settings: Settings = {}): Promise<void> {
    if (payload.length === 0) return;
    await this.session.insert({
      table: ident(table),
      columns: columns.map(ident),
      values: payload,
      format: 'TabSeparated',
      settings: { ...settings },
    });
  }

  async close(): Promise<void> {
    this.session.close();
  }
}
