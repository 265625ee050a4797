import type { ClickHouseBackend, InsertFormat, QueryParams, Settings } from './backend.ts';

export type FaultMode = 'up' | 'down' | 'ambiguous';

/**
 * A fault seam around a backend, for tests and trials: `down` fails every call
 * as an unreachable server would; `ambiguous` performs an insert and then
 * reports failure (the reply lost after the commit), the case that insert
 * deduplication tokens exist for.
 */
export class FaultyBackend implements ClickHouseBackend {
  mode: FaultMode = 'up';
  failures = 0;
  constructor(readonly inner: ClickHouseBackend) {}

  get kind(): ClickHouseBackend['kind'] {
    return this.inner.kind;
  }

  get batchFormat(): InsertFormat {
    return this.inner.batchFormat;
  }

  private check(): void {
    if (this.mode === 'down') {
      this.failures++;
      throw new Error('ClickHouse unavailable (injected fault)');
    }
  }

  async command(sql: string, params?: QueryParams): Promise<void> {
    this.check();
    await this.inner.command(sql, params);
  }

  async query<T>(sql: string, params?: QueryParams): Promise<T[]> {
    this.check();
    return this.inner.query<T>(sql, params);
  }

  async insertRows(table: string, columns: readonly string[], payload: Buffer, format: InsertFormat, settings?: Settings): Promise<void> {
    this.check();
    await this.inner.insertRows(table, columns, payload, format, settings);
    if (this.mode === 'ambiguous') {
      this.failures++;
      throw new Error('connection reset after the insert (injected fault)');
    }
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
