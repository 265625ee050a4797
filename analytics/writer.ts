import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { MetadataEvent } from '../src/core/metadata.ts';
import { AnalyticsMetrics } from './metrics.ts';
import type { InsertFormat } from './backend.ts';
import { encodeBatch, ROW_BINARY_BYTES_HINT, RowBinaryEncoder } from './rows.ts';
import type { AnalyticsSink } from './sink.ts';
import { SpoolFullError, type Spool } from './spool.ts';

/** Where batches go: one insert per batch, `batchId` as the insert deduplication token. */
export interface BatchTarget {
  /** The format batches are encoded in (TabSeparated when absent). */
  readonly format?: InsertFormat;
  insertBatch(batchId: string, payload: Buffer, format: InsertFormat): Promise<void>;
}

export interface WriterOptions {
  target: BatchTarget;
  spool: Spool;
  log: Logger;
  metrics?: AnalyticsMetrics;
  /** A batch is cut when this many rows are buffered... */
  batchRows?: number;
  /** ...or this long after the previous cut. */
  flushIntervalMs?: number;
  /** Rows held in memory (buffered and encoded, not yet inserted or spooled) before write() drops. */
  maxBufferedRows?: number;
  /** Backoff between replay attempts while ClickHouse is unavailable. */
  retryBaseMs?: number;
  retryMaxMs?: number;
}

interface Batch {
  id: string;
  rows: number;
  format: InsertFormat;
  /** The rows until encoded, then the payload. */
  events?: MetadataEvent[];
  payload?: Buffer;
}

/** Rows encoded between two yields to the event loop (~10 ms of work). */
const ENCODE_SLICE = 4_096;
const yieldToLoop = (): Promise<void> => new Promise((r) => setImmediate(r));

/**
 * The AnalyticsSink that feeds ClickHouse. write() only appends to an array
 * (O(1), never waits, never throws); a single pump cuts batches by size or
 * time and inserts them one at a time. A batch is encoded in slices that yield
 * to the event loop, just before its insert, and the next batch is encoded
 * while ClickHouse works on the current one (off the event loop). A failed insert sends its
 * batch to the durable spool; while the spool holds anything, newer batches
 * queue behind it there, so batches reach ClickHouse in order and a replayed
 * batch (same id, same bytes, same dedup token) is dropped by ClickHouse if
 * its first attempt did land after all. The spool drains with backoff once
 * ClickHouse answers again, and on the next start-up.
 */
export class ClickHouseSink implements AnalyticsSink {
  readonly metrics: AnalyticsMetrics;
  private buf: MetadataEvent[] = [];
  private ready: Batch[] = [];
  private readyRows = 0;
  private readonly batchRows: number;
  private readonly maxBufferedRows: number;
  private readonly retryBaseMs: number;
  private readonly retryMaxMs: number;
  private healthy = true;
  private retryAt = 0;
  private retryDelay: number;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly ticker: NodeJS.Timeout;
  private pumping: Promise<void> | undefined;
  private scheduled = false;
  private forceCut = false;
  private closed = false;
  private lastDropLog = 0;
  private droppedSinceLog = 0;

  constructor(private readonly opts: WriterOptions) {
    this.metrics = opts.metrics ?? new AnalyticsMetrics();
    this.batchRows = opts.batchRows ?? 10_000;
    this.maxBufferedRows = opts.maxBufferedRows ?? Math.max(100_000, this.batchRows * 20);
    this.retryBaseMs = opts.retryBaseMs ?? 500;
    this.retryMaxMs = opts.retryMaxMs ?? 30_000;
    this.retryDelay = this.retryBaseMs;
    this.ticker = setInterval(() => {
      this.forceCut = true;
      this.schedule();
    }, opts.flushIntervalMs ?? 1_000);
    this.ticker.unref();
    this.updateGauges();
    if (opts.spool.count > 0) {
      opts.log.info({ batches: opts.spool.count, rows: opts.spool.rows }, 'analytics spool holds batches from an earlier run: replaying');
      this.schedule();
    }
  }

  /** Synchronous and O(1) per row: the delivery path never waits for analytics. */
  write(events: readonly MetadataEvent[]): void {
    if (this.closed) {
      this.drop('closed', events.length);
      return;
    }
    if (this.buf.length + this.readyRows + events.length > this.maxBufferedRows) {
      this.drop('buffer_full', events.length);
      return;
    }
    for (const e of events) this.buf.push(e);
    if (this.buf.length >= this.batchRows) this.schedule();
  }

  /** Resolves once everything written so far is in ClickHouse or in the spool. */
  async flush(): Promise<void> {
    this.forceCut = true;
    for (;;) {
      this.schedule();
      await this.pumping;
      if (this.buf.length === 0 && this.ready.length === 0 && !this.pumping) return;
      await new Promise((r) => setImmediate(r));
    }
  }

  /** Flushes (to ClickHouse or the spool) and stops; the spool is replayed by the next start. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.flush();
    this.closed = true;
    clearInterval(this.ticker);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    await this.pumping;
  }

  /** Rows waiting in the spool (ClickHouse was unavailable). */
  get spooledRows(): number {
    return this.opts.spool.rows;
  }

  private schedule(): void {
    if (this.scheduled || this.pumping) {
      this.scheduled = true;
      return;
    }
    this.scheduled = true;
    setImmediate(() => this.startPump());
  }

  private startPump(): void {
    if (this.pumping) return;
    this.scheduled = false;
    this.pumping = this.pump()
      .catch((err: unknown) => this.opts.log.error({ err }, 'analytics writer pump failed'))
      .finally(() => {
        this.pumping = undefined;
        if (this.scheduled) {
          this.scheduled = false;
          this.schedule();
        }
      });
  }

  private cut(): void {
    while (this.buf.length >= this.batchRows || (this.forceCut && this.buf.length > 0)) {
      const rows = this.buf.length > this.batchRows ? this.buf.splice(0, this.batchRows) : this.buf;
      if (rows === this.buf) this.buf = [];
      this.ready.push({ id: randomUUID(), rows: rows.length, format: this.opts.target.format ?? 'TabSeparated', events: rows });
      this.readyRows += rows.length;
    }
    this.forceCut = false;
  }

  private async pump(): Promise<void> {
    const { spool } = this.opts;
    for (;;) {
      this.cut();
      const batch = this.ready.shift();
      if (batch) this.readyRows -= batch.rows;
      if (!batch && spool.count === 0) break;
      if (batch && spool.count === 0 && this.healthy) {
        const inserting = this.insert(batch, await this.encode(batch), 'direct');
        const next = this.ready[0];
        if (next) await this.encode(next);
        if (await inserting) continue;
        await this.toSpool(batch);
        continue;
      }
      if (batch) await this.toSpool(batch);
      // The spool holds batches: replay them in order when a retry is due.
      if (Date.now() < this.retryAt) {
        if (this.ready.length > 0 || this.buf.length >= this.batchRows) continue;
        break;
      }
      if (!(await this.replay())) continue;
    }
    this.updateGauges();
  }

  /** The batch's payload, encoded now if it is not yet (in slices, yielding to the event loop). */
  private async encode(batch: Batch): Promise<Buffer> {
    if (batch.payload) return batch.payload;
    const events = batch.events ?? [];
    if (batch.format === 'RowBinary') {
      const enc = new RowBinaryEncoder(events.length * ROW_BINARY_BYTES_HINT);
      for (let i = 0; i < events.length; i++) {
        if (i > 0 && i % ENCODE_SLICE === 0) await yieldToLoop();
        enc.row(events[i] as MetadataEvent);
      }
      batch.payload = enc.finish();
    } else {
      const parts: Buffer[] = [];
      for (let i = 0; i < events.length; i += ENCODE_SLICE) {
        if (i > 0) await yieldToLoop();
        parts.push(encodeBatch(events.slice(i, i + ENCODE_SLICE)));
      }
      batch.payload = parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts);
    }
    batch.events = undefined;
    return batch.payload;
  }

  /** Inserts spooled batches oldest first; false when ClickHouse failed again. */
  private async replay(): Promise<boolean> {
    const { spool } = this.opts;
    for (let e = spool.head(); e; e = spool.head()) {
      let payload: Buffer;
      try {
        payload = await spool.read(e);
      } catch (err) {
        this.opts.log.error({ err, file: e.file }, 'unreadable analytics spool file: dropping it');
        this.drop('spool_error', e.rows);
        await spool.removeHead(e).catch(() => undefined);
        continue;
      }
      if (!(await this.insert({ id: e.batchId, rows: e.rows, format: e.format }, payload, 'replay'))) return false;
      await spool.removeHead(e);
      this.updateGauges();
      if (this.ready.length > 0 || this.buf.length >= this.batchRows) return true; // spool what arrived meanwhile, keep order
    }
    this.opts.log.info('analytics spool drained');
    return true;
  }

  private async insert(batch: Batch, payload: Buffer, path: 'direct' | 'replay'): Promise<boolean> {
    const end = this.metrics.insertSeconds.startTimer();
    try {
      await this.opts.target.insertBatch(batch.id, payload, batch.format);
      end();
      this.metrics.rowsWritten.inc({ path }, batch.rows);
      if (!this.healthy) this.opts.log.info('analytics: ClickHouse is back');
      this.healthy = true;
      this.retryDelay = this.retryBaseMs;
      return true;
    } catch (err) {
      this.metrics.insertFailures.inc();
      if (this.healthy) this.opts.log.warn({ err: (err as Error).message }, 'analytics insert failed: spooling until ClickHouse answers');
      this.healthy = false;
      this.retryAt = Date.now() + this.retryDelay;
      if (this.retryTimer) clearTimeout(this.retryTimer);
      this.retryTimer = setTimeout(() => this.schedule(), this.retryDelay);
      this.retryTimer.unref();
      this.retryDelay = Math.min(this.retryMaxMs, this.retryDelay * 2);
      return false;
    }
  }

  private async toSpool(batch: Batch): Promise<void> {
    try {
      await this.opts.spool.append(batch.id, batch.rows, await this.encode(batch), batch.format);
    } catch (err) {
      this.drop(err instanceof SpoolFullError ? 'spool_full' : 'spool_error', batch.rows, err);
    }
    this.updateGauges();
  }

  private drop(reason: string, rows: number, err?: unknown): void {
    if (rows === 0) return;
    this.metrics.rowsDropped.inc({ reason }, rows);
    this.droppedSinceLog += rows;
    const now = Date.now();
    if (now - this.lastDropLog >= 10_000) {
      this.opts.log.warn(
        { reason, rows: this.droppedSinceLog, spoolBytes: this.opts.spool.bytes, spoolLimit: this.opts.spool.maxBytes, err: err instanceof Error ? err.message : undefined },
        reason === 'spool_full' ? 'analytics spool full: dropping metadata rows' : 'analytics: dropping metadata rows',
      );
      this.lastDropLog = now;
      this.droppedSinceLog = 0;
    }
  }

  private updateGauges(): void {
    this.metrics.spoolBytes.set(this.opts.spool.bytes);
    this.metrics.spoolRows.set(this.opts.spool.rows);
    this.metrics.bufferedRows.set(this.buf.length + this.readyRows);
  }
}
