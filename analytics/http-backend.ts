import { Readable } from 'node:stream';
import { createClient, type ClickHouseClient } from '@clickhouse/client';
import { ident, type ClickHouseBackend, type InsertFormat, type QueryParams, type Settings } from './backend.ts';

export interface HttpOptions {
  /** http(s)://user:password@host:8123/database */
  url: string;
  readonly?: boolean;
  requestTimeoutMs?: number;
}

/** A ClickHouse server over HTTP through the official client. Same SQL as chDB. */
export class HttpBackend implements ClickHouseBackend {
  readonly kind = 'clickhouse' as const;
  /** TabSeparated: the client's insert() takes no RowBinary, and the RowBinary path below has not been measured against a server. */
  readonly batchFormat: InsertFormat = 'TabSeparated';
  private readonly client: ClickHouseClient;
  private readonly readonly: boolean;

  constructor(opts: HttpOptions) {
    this.client = createClient({ url: opts.url, request_timeout: opts.requestTimeoutMs ?? 30_000 });
    this.readonly = opts.readonly ?? false;
  }

  private settings(extra: Settings = {}): Record<string, string | number> {
    // readonly=1 forbids changing any other setting in the same request, so it travels alone.
    return this.readonly ? { readonly: 1 } : { ...extra };
  }

  async command(sql: string, params?: QueryParams): Promise<void> {
    await this.client.command({ query: sql, query_params: params ? { ...params } : undefined, clickhouse_settings: this.settings() });
  }

  async query<T>(sql: string, params?: QueryParams): Promise<T[]> {
    const rs = await this.client.query({
      query: sql,
      format: 'JSONEachRow',
      query_params: params ? { ...params } : undefined,
      clickhouse_settings: this.settings(),
    });
    return rs.json<T>();
  }

  async insertRows(table: string, columns: readonly string[], payload: Buffer, format: InsertFormat, settings: Settings = {}): Promise<void> {
    if (payload.length === 0) return;
    if (format === 'RowBinary') {
      // A batch spooled by an embedded (chDB) run and replayed here: the raw body of an INSERT.
      const res = await this.client.exec({
        query: `INSERT INTO ${ident(table)} (${columns.map(ident).join(', ')}) FORMAT RowBinary`,
        values: Readable.from([payload]),
        clickhouse_settings: this.settings(settings),
      });
      res.stream.resume();
      return;
    }
    await this.client.insert({
      table: ident(table),
      columns: columns.map(ident) as [string, ...string[]],
      values: Readable.from([payload]),
      format: 'TabSeparated',
      clickhouse_settings: this.settings(settings),
    });
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}
