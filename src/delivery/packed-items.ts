import { Packr } from 'msgpackr';
import type { Envelope } from '../core/envelope.ts';
import type { OutboundItem } from './items.ts';

/**
 * What a run keeps of an item once it is packed: its key, its chat, and
 * what the caller asked to keep for the fast path (the envelope, or a
 * number the caller maps back to it).
 */
export type HeldItem = [key: string, chat: string, ref: Envelope | number];

const INITIAL_BYTES = 16 * 1024;
/** MessagePack's array 32 header: 0xdd, then the count as a big-endian uint32. */
const ARRAY32 = 0xdd;

/** A packer for runs: records whose shapes are defined where first used within the run (msgpackr's sequential mode). */
export function runPacker(): Packr {
  return new Packr({ useRecords: true, sequential: true, mapsAsObjects: true, moreTypes: false });
}

/**
 * One delivery job's items, packed as they are added. A shard holds the
 * items of a turn until their commit is stored, which under load outlives a
 * young-generation GC or two: kept as objects, every envelope would be
 * copied and then promoted. Packed at once, the envelopes die young; the
 * run keeps their bytes (outside the JS heap) and a few strings per item.
 *
 * The packer starts afresh with each run and defines each record shape
 * where the run first uses it, so a run's header and bytes are exactly
 * what msgpackr packs for the array of its items at once: the same size,
 * read by the same unpacker (`openItems`). A packer serves one run at a
 * time.
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

  add(item: OutboundItem, ref: Envelope | number = item.env): void {
    const bytes = this.packr.pack(item);
    if (this.used + bytes.length > this.buf.length) this.grow(this.used + bytes.length);
    // msgpackr writes its next pack over these bytes: copied now.
    bytes.copy(this.buf, this.used);
    this.used += bytes.length;
    this.held.push([item.key, item.chat, ref]);
  }

  /** The run as one MessagePack array: a header and a view of the items' bytes (valid until the next `add`). */
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
