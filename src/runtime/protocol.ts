import { Packr } from 'msgpackr';
import type { Origin } from '../../actors/types.ts';
import type { IngestOutcome } from '../core/connector.ts';
import type { Envelope } from '../core/envelope.ts';
import type { ErrorInfo } from '../core/errors.ts';
import type { MetadataEvent } from '../core/metadata.ts';
import type { PolicySnapshot } from '../core/policy.ts';
import type { OutboundItem } from '../delivery/items.ts';
import type { CommittedJob } from '../delivery/outbox.ts';

/** One message routed to an actor: [sequence, actor key, origin, envelope]. */
export type Routed = [seq: number, key: string, origin: Origin, env: Envelope];
/** The answer for one routed message: [sequence, outcome, error or null]. */
export type Ack = [seq: number, outcome: IngestOutcome, error: ErrorInfo | null];

export interface ShardStats {
  shard: number;
  resident: number;
  loading: number;
  heapUsed: number;
  processed: number;
  restarts: number;
  passivated: number;
  flushesInFlight: number;
  /** Commits started for stepped messages (their jobs and states; the sweep's state-only writes are not counted): processed ÷ commits is the mean commit size. */
  commits: number;
}

/**
 * A job just stored: [connector, job id, items, keys of its items already
 * marked delivered]. An item carries its envelope, or the sequence number of
 * the routed message whose envelope it forwards unchanged (the main thread
 * still has that one).
 */
export type WireJob = CommittedJob;
/** A stored job with its items whole again, for the fast path on the main thread. */
export type ReadyJob = [connector: string, jobId: string, items: OutboundItem[], marked: string[]];

/** Main thread -> shard worker. */
export type ToShard =
  | { k: 'batch'; items: Routed[] }
  | { k: 'policy'; snapshot: PolicySnapshot }
  | { k: 'spawn'; keys: string[]; id: number }
  | { k: 'passivate'; id: number; all: boolean }
  | { k: 'stats'; id: number; gc: boolean }
  | { k: 'drain'; id: number };

/** Shard worker -> main thread. */
export type FromShard =
  | { k: 'ready' }
  | { k: 'acks'; acks: Ack[]; meta: MetadataEvent[]; jobs: WireJob[] }
  | { k: 'done'; id: number; count: number }
  | { k: 'stats'; id: number; stats: ShardStats }
  | { k: 'fatal'; message: string };

/**
 * msgpackr with records: each batch carries the envelope shape once and then
 * only values, which is what makes thousands of envelopes per postMessage cheap.
 */
const packr = new Packr({ useRecords: true, mapsAsObjects: true, moreTypes: false, bundleStrings: false });
/** A small batch packs and unpacks faster as plain maps; the same unpacker reads both. */
const plain = new Packr({ useRecords: false, moreTypes: false, bundleStrings: false });
const RECORDS_FROM = 16;

/**
 * Encodes into a buffer of exactly the message's size, which the caller
 * transfers: msgpackr packs into a buffer it keeps and reuses, and
 * transferring that one would make every later pack allocate afresh (and
 * hand the receiver kilobytes it does not need).
 */
export function encode(msg: ToShard | FromShard): Uint8Array {
  const n = msg.k === 'batch' ? msg.items.length : msg.k === 'acks' ? msg.acks.length + msg.meta.length : RECORDS_FROM;
  return Uint8Array.prototype.slice.call((n < RECORDS_FROM ? plain : packr).pack(msg));
}

export function decodeToShard(buf: Uint8Array): ToShard {
  return packr.unpack(buf) as ToShard;
}

export function decodeFromShard(buf: Uint8Array): FromShard {
  return packr.unpack(buf) as FromShard;
}
