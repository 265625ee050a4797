/**
 * One interface over the two ClickHouse engines Parley speaks to: embedded
 * chDB (in-process) and a ClickHouse server over HTTP. Both run the same SQL;
 * values always travel as bound query parameters ({name:Type}), never spliced
 * into SQL text.
 */
export type QueryParams = Readonly<Record<string, string | number>>;
export type Settings = Readonly<Record<string, string | number>>;
/** Batch payload formats: TabSeparated text, or RowBinary (cheaper to write and to parse; see rows.ts). */
export type InsertFormat = 'TabSeparated' | 'RowBinary';

export interface ClickHouseBackend {
  readonly kind: 'chdb' | 'clickhouse';
  /** A statement without a result (DDL, ALTER, INSERT ... SELECT, OPTIMIZE). */
  command(sql: string, params?: QueryParams): Promise<void>;
  /** A SELECT; rows come back as JSON objects (64-bit integers as strings or numbers). */
  query<T = Record<string, unknown>>(sql: string, params?: QueryParams): Promise<T[]>;
  /** The payload format this engine takes fastest (writers encode batches in it). */
  readonly batchFormat: InsertFormat;
  /** Inserts a payload in `format`; `settings` carries e.g. the insert deduplication token. */
  insertRows(table: string, columns: readonly string[], payload: Buffer, format: InsertFormat, settings?: Settings): Promise<void>;
  close(): Promise<void>;
}

/** Identifiers we interpolate are ours; this guards against a slip all the same. */
export function ident(name: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`not a plain identifier: ${name}`);
  return name;
}

/** A setting value as an SQL literal (for SETTINGS clauses, which take no bound parameters). */
export function settingLiteral(v: string | number): string {
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new Error(`setting value must be finite, got ${v}`);
    return String(v);
  }
  return `'${v.replace(/[\\']/g, (c) => `\\${c}`)}'`;
}

/** Parses one JSONEachRow text into objects (empty lines ignored). */
export function parseJsonEachRow<T>(text: string): T[] {
  const out: T[] = [];
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    if (end > start) out.push(JSON.parse(text.slice(start, end)) as T);
    start = end + 1;
  }
  return out;
}
