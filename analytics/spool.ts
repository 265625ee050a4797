import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, statSync, unlinkSync } from 'node:fs';
import { open, readFile, rename, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { InsertFormat } from './backend.ts';

/** A batch waiting in the spool: its id is also its insert deduplication token. */
export interface SpoolEntry {
  file: string;
  seq: number;
  rows: number;
  batchId: string;
  bytes: number;
  format: InsertFormat;
}

export class SpoolFullError extends Error {
  constructor(readonly needed: number, readonly limit: number) {
    super(`analytics spool full (${needed} bytes needed, limit ${limit})`);
    this.name = 'SpoolFullError';
  }
}

const NAME = /^(\d{12})-(\d{1,9})-([A-Za-z0-9-]{1,64})\.(tsv|rowbinary)$/;
const EXTENSION: Record<InsertFormat, string> = { TabSeparated: 'tsv', RowBinary: 'rowbinary' };

/**
 * Batches ClickHouse could not take, one file per batch
 * (`<seq>-<rows>-<batchId>.<tsv|rowbinary>`, the extension naming the payload format) in a directory under the data dir, written
 * to a temp name, fsynced and renamed, so a file is either complete or absent.
 * Files leave only after ClickHouse has acknowledged their insert. Bounded by
 * total bytes; order is the sequence number.
 */
export class Spool {
  private entries: SpoolEntry[] = [];
  private seq = 0;
  private total = 0;
  private rowCount = 0;

  constructor(readonly dir: string, readonly maxBytes: number) {
    mkdirSync(dir, { recursive: true });
    for (const name of readdirSync(dir)) {
      const full = path.join(dir, name);
      if (name.endsWith('.tmp')) {
        unlinkSync(full); // a write that never completed: its batch is still in memory or was never acknowledged
        continue;
      }
      const m = NAME.exec(name);
      if (!m) continue;
      const bytes = statSync(full).size;
      const format: InsertFormat = m[4] === 'rowbinary' ? 'RowBinary' : 'TabSeparated';
      this.entries.push({ file: name, seq: Number(m[1]), rows: Number(m[2]), batchId: m[3] as string, bytes, format });
    }
    this.entries.sort((a, b) => a.seq - b.seq);
    for (const e of this.entries) {
      this.total += e.bytes;
      this.rowCount += e.rows;
    }
    this.seq = (this.entries.at(-1)?.seq ?? 0) + 1;
  }

  get count(): number {
    return this.entries.length;
  }
  get bytes(): number {
    return this.total;
  }
  get rows(): number {
    return this.rowCount;
  }
  head(): SpoolEntry | undefined {
    return this.entries[0];
  }

  /** Durably appends a batch; throws SpoolFullError when it would pass the limit. */
  async append(batchId: string, rows: number, payload: Buffer, format: InsertFormat = 'TabSeparated'): Promise<void> {
    if (!/^[A-Za-z0-9-]{1,64}$/.test(batchId)) throw new Error(`bad batch id ${batchId}`);
    if (this.total + payload.length > this.maxBytes) throw new SpoolFullError(this.total + payload.length, this.maxBytes);
    const seq = this.seq++;
    const name = `${String(seq).padStart(12, '0')}-${rows}-${batchId}.${EXTENSION[format]}`;
    const tmp = path.join(this.dir, `${name}.tmp`);
    const fh = await open(tmp, 'w');
    try {
      await fh.writeFile(payload);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path.join(this.dir, name));
    syncDir(this.dir);
    this.entries.push({ file: name, seq, rows, batchId, bytes: payload.length, format });
    this.total += payload.length;
    this.rowCount += rows;
  }

  read(e: SpoolEntry): Promise<Buffer> {
    return readFile(path.join(this.dir, e.file));
  }

  /** Removes the oldest entry once its insert is acknowledged. */
  async removeHead(e: SpoolEntry): Promise<void> {
    if (this.entries[0] !== e) throw new Error('spool entries leave in order');
    await unlink(path.join(this.dir, e.file));
    this.entries.shift();
    this.total -= e.bytes;
    this.rowCount -= e.rows;
  }
}

function syncDir(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // some filesystems refuse fsync on directories; the rename is still atomic
  }
}
