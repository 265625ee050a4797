import { Packr } from 'msgpackr';
import type { Envelope } from '../core/envelope.ts';
import type { OutboundItem } from './items.ts';

/**
 * What a run keeps of an item once it is packed: its key, its chat, and
 * what the caller asked to keep for the fast path (the envelope, or a
 * number the caller maps back to it).
 */
export type HeldItem = [key: string, chat: string, ref: Envelope | number];

/** Small enough to come from Node's buffer pool: at low load a run holds an item or two. */
const INITIAL_BYTES = 2 * 1024;
/** MessagePack's array 32 header: 0xdd, then the count as a big-endian uint32. */
const ARRAY32 = 0xdd;

/**
 * A packer for runs: records whose shapes are defined where first used
 * within the run (msgpackr's sequential mode). Sequential mode would keep
 * only 32 shapes a run (it counts as sharing structures); with 64, as when
 * msgpackr packs an array at once, a run of many kinds of envelope stays as
 * small.
 */
export function runPacker(): Packr {
  return new Packr({ useRecords: true, sequential: true, mapsAsObjects: true, moreTypes: false, maxOwnStructures: 64 });
}

/**
 * One delivery job's items, packed as they are added. A shard holds the
 * items of a turn until their commit is stored, which under load outlives a
 * young-generation GC or two: kept as objects, every envelope would be
 * copied and then promoted. Packed at once, the envelopes die young; the
 * run keeps their bytes (outside the JS heap) and a few strings per item.
 *
 * The packer starts afresh with each run and defines each record shape
 * where the run first uses it, so the items' bytes are exactly what
 * msgpackr packs for the array of them at once (the array header is 5
 * bytes here, 1–3 there), read by the same unpacker (`openItems`). A packer
 * serves one run at a time.
 */
export class PackedRun {
  private buf = Buffer.allocUnsafe(INITIAL_BYTES);
  private used = 0;
  readonly held: HeldItem[] = [];

  constructor(private readonly packr: Packr) {
    packr.clearSharedData();
  }

  get count(): number {
    return this.held.length;
  }

  /** Throws if `item` cannot be packed; the run is then as it was, and takes further items. */
  add(item: OutboundItem, ref: Envelope | number = item.env): void {
    let bytes: Buffer;
    try {
      bytes = this.packr.pack(item);
    } catch (err) {
      // msgpackr may have taken a new shape's id before failing: later items must define it again.
      this.packr.clearSharedData();
      throw err;
    }
    if (this.used + bytes.length > this.buf.length) this.grow(this.used + bytes.length);
    // msgpackr writes its next pack over these bytes: copied now.
    bytes.copy(this.buf, this.used);
    this.used += bytes.length;
    this.held.push([item.key, item.chat, ref]);
  }

  /** The run as one MessagePack array: a header, and a view of the items' bytes as they are now. */
  parts(): [header: Buffer, body: Buffer] {
    const header = Buffer.allocUnsafe(5);
    header[0] = ARRAY32;
    header.writeUInt32BE(this.held.length, 1);
    return [header, this.buf.subarray(0, this.used)];
  }

  private grow(needed: number): void {
    let size = this.buf.length * 2;
    while (size < needed) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.used);
    this.buf = next;
  }
}
