import type { MetadataEvent } from '../src/core/metadata.ts';

/** Where metadata rows go. Writes never block delivery: implementations buffer. */
export interface AnalyticsSink {
  write(events: readonly MetadataEvent[]): void;
  flush(): Promise<void>;
  close(): Promise<void>;
}

/** Keeps rows in memory, bounded; for tests and for running without ClickHouse. */
export class MemorySink implements AnalyticsSink {
  readonly events: MetadataEvent[] = [];
  dropped = 0;

  constructor(private readonly limit = 1_000_000) {}

  write(events: readonly MetadataEvent[]): void {
    for (const e of events) this.events.push(e);
    if (this.events.length > this.limit) {
      // Oldest rows go in chunks of a tenth: amortised constant time, never a shift per row.
      const cut = this.events.length - this.limit + Math.ceil(this.limit / 10);
      this.events.splice(0, cut);
      this.dropped += cut;
    }
  }

  async flush(): Promise<void> {}

  async close(): Promise<void> {}
}
