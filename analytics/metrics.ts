import { Counter, Gauge, Histogram, type Metric, type Registry } from 'prom-client';

/** Metrics of the analytics writer; registered into the hub's registry by the app. */
export class AnalyticsMetrics {
  readonly rowsWritten = new Counter({
    name: 'parley_analytics_rows_written_total',
    help: 'Metadata rows acknowledged by ClickHouse (direct or replayed from the spool)',
    labelNames: ['path'] as const,
    registers: [],
  });
  readonly rowsDropped = new Counter({
    name: 'parley_analytics_rows_dropped_total',
    help: 'Metadata rows lost: spool full, spool write error, in-memory buffer full, or written after close',
    labelNames: ['reason'] as const,
    registers: [],
  });
  readonly insertFailures = new Counter({
    name: 'parley_analytics_insert_failures_total',
    help: 'Inserts into ClickHouse that failed (the batch is spooled and replayed)',
    registers: [],
  });
  readonly spoolBytes = new Gauge({ name: 'parley_analytics_spool_bytes', help: 'Bytes waiting in the spool', registers: [] });
  readonly spoolRows = new Gauge({ name: 'parley_analytics_spool_rows', help: 'Rows waiting in the spool', registers: [] });
  readonly bufferedRows = new Gauge({ name: 'parley_analytics_buffered_rows', help: 'Rows buffered in memory', registers: [] });
  readonly insertSeconds = new Histogram({
    name: 'parley_analytics_insert_seconds',
    help: 'Duration of one batch insert into ClickHouse',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
    registers: [],
  });

  all(): Metric[] {
    return [this.rowsWritten, this.rowsDropped, this.insertFailures, this.spoolBytes, this.spoolRows, this.bufferedRows, this.insertSeconds];
  }

  registerInto(registry: Registry): void {
    for (const m of this.all()) registry.registerMetric(m);
  }
}
