import { hash } from 'node:crypto';
import { Packr } from 'msgpackr';
import { addressKey } from '../core/address.ts';
import type { Envelope } from '../core/envelope.ts';
import type { ContentCipher } from './crypto.ts';
import { PackedRun, runPacker } from './packed-items.ts';

/** One envelope on its way to a connector. */
export interface OutboundItem {
  /** Idempotency key: the same for every redelivery of this envelope to this recipient. */
  key: string;
  chat: string;
  env: Envelope;
}

/** What a delivery job holds: only counts in the clear, content sealed. */
export interface JobPayload {
  v: 1;
  n: number;
  c: string;
}

/** Reads what every writer so far stored: an array of items, as records or as plain maps. */
const packr = new Packr({ useRecords: true, mapsAsObjects: true, moreTypes: false });

/**
 * Sender, id and recipient, digested: an id chosen by one sender cannot
 * shadow another sender's message (the parts are length-prefixed, so no
 * choice of ids makes two different triples read alike), and every key is 22
 * characters (132 bits of SHA-256), whatever the lengths of the addresses and
 * the id. The key travels with the item to the main thread, into the mark
 * checks and the marks, and each mark is a Redis key for days: with the plain
 * triple a mark held ~197 B, with the digest ~133 B (bench/tools/mark-keys.ts).
 */
export function idempotencyKey(env: Envelope): string {
  const from = addressKey(env.from);
  return hash('sha256', `${from.length}:${from}${env.id.length}:${env.id}${addressKey(env.to)}`, 'base64url').slice(0, 22);
}

export function queueName(connector: string): string {
  return `deliver-${connector}`;
}

/** A run of packed items as one job's payload. */
export function sealRun(run: PackedRun, cipher: ContentCipher, queue: string): JobPayload {
  return { v: 1, n: run.count, c: cipher.seal(run.parts(), queue).toString('base64') };
}

export function sealItems(items: readonly OutboundItem[], cipher: ContentCipher, queue: string): JobPayload {
  const run = new PackedRun(runPacker());
  for (const item of items) run.add(item);
  return sealRun(run, cipher, queue);
}

export function openItems(payload: JobPayload, cipher: ContentCipher, queue: string): OutboundItem[] {
  if (payload?.v !== 1 || typeof payload.c !== 'string') throw new Error('delivery job: unknown payload format');
  return packr.unpack(cipher.open(Buffer.from(payload.c, 'base64'), queue)) as OutboundItem[];
}
