import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { Origin } from '../../actors/types.ts';
import type { IngestAck, IngestOutcome } from '../core/connector.ts';
import type { Envelope } from '../core/envelope.ts';
import { ParleyError } from '../core/errors.ts';
import type { MetadataEvent } from '../core/metadata.ts';
import type { PolicySnapshot } from '../core/policy.ts';
import { Admission } from './admission.ts';
import { shardOf } from './hash.ts';
import { decodeFromShard, encode, type FromShard, type Routed, type ShardStats, type ToShard, type ReadyJob, type WireJob } from './protocol.ts';
import type { ShardWorkerData } from './shard-worker.ts';

interface Pending {
  id: string;
  shard: number;
  /** Kept until acknowledged: the fast path's jobs refer to it by sequence number. */
  env: Envelope;
  /** performance.now() when the message was submitted. */
  at: number;
  resolve(ack: IngestAck): void;
}

interface Shard {
  worker: Worker;
  batch: Routed[];
  /** Its unacknowledged messages and the callers waiting for room. */
  admission: Admission;
  /** performance.now() of the last batch sent. */
  lastSentAt: number;
  ready: Promise<void>;
}

export interface RouterOptions {
  shards: number;
  maxInflightPerShard: number;
  /** Least time between two batches to one shard (see runtime.sendWindowMs). */
  sendWindowMs: number;
  data: Omit<ShardWorkerData, 'shard'>;
  log: Logger;
  onMetadata(events: MetadataEvent[]): void;
  /** Jobs a shard has just stored, for the delivery fast path. */
  onCommitted(jobs: ReadyJob[]): void;
  /** Every answer to a submitted message, with the milliseconds it took. */
  onAck(outcome: IngestOutcome, ms: number): void;
}

/** A batch this large goes to its shard at once, window or not. */
const FULL_BATCH = 1_000;
const workerEntry = new URL('./worker-entry.mjs', import.meta.url);
const shardModule = new URL(import.meta.url.endsWith('.ts') ? './shard-worker.ts' : './shard-worker.js', import.meta.url).href;

/**
 * Main-thread side of the actor runtime: hashes actor keys to shards (worker
 * threads), batches messages to each shard once per turn, and resolves each
 * ingress call when its shard acknowledges it. A shard with too many
 * unacknowledged messages makes new callers wait: memory stays bounded.
 */
export class ShardRouter {
  private readonly shards: Shard[] = [];
  private readonly pending = new Map<number, Pending>();
  private readonly requests = new Map<number, { shard: number; resolve: (msg: FromShard) => void }>();
  private seq = 0;
  private reqId = 0;
  private flushScheduled = false;
  private windowTimer: NodeJS.Timeout | undefined;
  private stopping = false;

  constructor(private readonly opts: RouterOptions) {}

  get inflight(): number {
    return this.pending.size;
  }

  async start(): Promise<void> {
    for (let i = 0; i < this.opts.shards; i++) this.shards.push(this.spawn(i));
    await Promise.all(this.shards.map((s) => s.ready));
  }

  private spawn(index: number): Shard {
    const workerData: ShardWorkerData & { entry: string } = { ...this.opts.data, shard: index, entry: shardModule };
    const worker = new Worker(workerEntry, { workerData, name: `parley-shard-${index}` });
    let markReady: () => void = () => undefined;
    let failStart: (err: Error) => void = () => undefined;
    let started = false;
    const ready = new Promise<void>((resolve, reject) => {
      markReady = () => {
        started = true;
        resolve();
      };
      failStart = reject;
    });
    // A restarted shard's failure is only logged: nobody awaits its start.
    ready.catch((err: unknown) => this.opts.log.error({ err, shard: index }, 'shard could not start'));
    const shard: Shard = { worker, batch: [], admission: new Admission(this.opts.maxInflightPerShard), lastSentAt: Number.NEGATIVE_INFINITY, ready };
    worker.on('message', (buf: Uint8Array) => {
      const msg = decodeFromShard(buf);
      if (msg.k === 'ready') markReady();
      else if (msg.k === 'fatal' && !started) failStart(new Error(`shard ${index} could not start: ${msg.message}`));
      else this.onShardMessage(shard, msg);
    });
    worker.on('error', (err) => this.opts.log.error({ err, shard: index }, 'shard worker error'));
    worker.on('exit', (code) => this.onExit(index, shard, code));
    return shard;
  }

  private onExit(index: number, shard: Shard, code: number): void {
    if (this.shards[index] !== shard) return;
    // Everything unacknowledged on this shard is refused as retryable; the sender tries again.
    for (const [seq, p] of this.pending) {
      if (p.shard !== index) continue;
      this.pending.delete(seq);
      this.settle(p, { id: p.id, outcome: 'rejected', error: new ParleyError('OVERLOADED', 'shard restarted').toInfo() });
    }
    shard.admission.reset();
    for (const [id, req] of this.requests) {
      if (req.shard !== index) continue;
      this.requests.delete(id);
      req.resolve({ k: 'done', id, count: 0 });
    }
    if (this.stopping) return;
    this.opts.log.error({ shard: index, code }, 'shard worker exited; restarting it');
    this.shards[index] = this.spawn(index);
  }

  private onShardMessage(shard: Shard, msg: FromShard): void {
    switch (msg.k) {
      case 'acks': {
        // Before the acknowledgements: the jobs refer to envelopes of pending messages.
        const jobs = msg.jobs.length > 0 ? this.unwire(msg.jobs) : [];
        for (const [seq, outcome, error] of msg.acks) {
          const p = this.pending.get(seq);
          if (!p) continue;
          this.pending.delete(seq);
          this.settle(p, error ? { id: p.id, outcome, error } : { id: p.id, outcome });
        }
        shard.admission.leave(msg.acks.length);
        if (msg.meta.length > 0) this.opts.onMetadata(msg.meta);
        if (jobs.length > 0) this.opts.onCommitted(jobs);
        return;
      }
      case 'fatal':
        this.opts.log.error({ message: msg.message }, 'shard reported a fatal error');
        return;
      case 'ready':
        return;
      default: {
        const req = this.requests.get(msg.id);
        if (req) {
          this.requests.delete(msg.id);
          req.resolve(msg);
        }
      }
    }
  }

  /** A job whose envelope cannot be found is left to the queue's consumer (it is stored). */
  private unwire(jobs: WireJob[]): ReadyJob[] {
    const out: ReadyJob[] = [];
    for (const [connector, jobId, items, marked] of jobs) {
      const full: ReadyJob[2] = [];
      for (const [key, chat, env] of items) {
        const resolved = typeof env === 'number' ? this.pending.get(env)?.env : env;
        if (!resolved) break;
        full.push({ key, chat, env: resolved });
      }
      if (full.length === items.length) out.push([connector, jobId, full, marked]);
      else this.opts.log.error({ jobId }, 'fast path: a job refers to an unknown message; the queue will deliver it');
    }
    return out;
  }

  private settle(p: Pending, ack: IngestAck): void {
    p.resolve(ack);
    this.opts.onAck(ack.outcome, performance.now() - p.at);
  }

  private refuse(env: Envelope, at: number, code: 'SHUTTING_DOWN' | 'OVERLOADED', message?: string): Promise<IngestAck> {
    this.opts.onAck('rejected', performance.now() - at);
    return Promise.resolve({ id: env.id, outcome: 'rejected', error: new ParleyError(code, message).toInfo() });
  }

  /** Not an async function: one promise per message, not one per layer (see Admission for who goes first). */
  submit(key: string, origin: Origin, env: Envelope): Promise<IngestAck> {
    const at = performance.now();
    if (this.stopping) return this.refuse(env, at, 'SHUTTING_DOWN');
    const index = shardOf(key, this.shards.length);
    const shard = this.shards[index] as Shard;
    return shard.admission.tryEnter() ? this.enqueue(shard, index, key, origin, env, at) : this.submitWhenRoom(index, key, origin, env, at);
  }

  private async submitWhenRoom(index: number, key: string, origin: Origin, env: Envelope, at: number): Promise<IngestAck> {
    for (;;) {
      const shard = this.shards[index] as Shard;
      if (shard.admission.tryEnter()) return this.enqueue(shard, index, key, origin, env, at);
      // Waiting callers are bounded too: beyond them the sender is asked to come back.
      const turn = shard.admission.wait();
      if (!turn) return this.refuse(env, at, 'OVERLOADED', 'too many messages waiting');
      const granted = await turn;
      if (this.stopping || this.shards[index] !== shard) {
        if (granted) shard.admission.leave();
        if (this.stopping) return this.refuse(env, at, 'SHUTTING_DOWN');
        continue;
      }
      if (granted) return this.enqueue(shard, index, key, origin, env, at);
    }
  }

  /** Its admission already counts this message. */
  private enqueue(shard: Shard, index: number, key: string, origin: Origin, env: Envelope, at: number): Promise<IngestAck> {
    const seq = ++this.seq;
    shard.batch.push([seq, key, origin, env]);
    this.scheduleFlush();
    return new Promise<IngestAck>((resolve) => this.pending.set(seq, { id: env.id, shard: index, env, at, resolve }));
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => this.flushBatches());
  }

  /**
   * Sends each shard what it has gathered, at most once per send window: under
   * load a batch per turn of the event loop would carry a handful of messages,
   * and each postMessage costs both threads a wake-up and a round of decoding.
   */
  private flushBatches(): void {
    this.flushScheduled = false;
    const now = performance.now();
    let wait = Number.POSITIVE_INFINITY;
    for (const shard of this.shards) {
      if (shard.batch.length === 0) continue;
      const early = shard.lastSentAt + this.opts.sendWindowMs - now;
      if (early > 0 && shard.batch.length < FULL_BATCH) {
        wait = Math.min(wait, early);
        continue;
      }
      shard.lastSentAt = now;
      const items = shard.batch;
      shard.batch = [];
      this.send(shard, { k: 'batch', items });
    }
    if (wait !== Number.POSITIVE_INFINITY && !this.windowTimer) {
      this.windowTimer = setTimeout(() => {
        this.windowTimer = undefined;
        this.flushBatches();
      }, Math.ceil(wait));
    }
  }

  private send(shard: Shard, msg: ToShard): void {
    const buf = encode(msg);
    shard.worker.postMessage(buf, [buf.buffer as ArrayBuffer]);
  }

  broadcastPolicy(snapshot: PolicySnapshot): void {
    for (const s of this.shards) this.send(s, { k: 'policy', snapshot });
  }

  private request(index: number, make: (id: number) => ToShard): Promise<FromShard> {
    const id = ++this.reqId;
    return new Promise((resolve) => {
      this.requests.set(id, { shard: index, resolve });
      this.send(this.shards[index] as Shard, make(id));
    });
  }

  async spawnActors(keys: readonly string[]): Promise<void> {
    const per: string[][] = this.shards.map(() => []);
    for (const k of keys) per[shardOf(k, this.shards.length)]?.push(k);
    await Promise.all(per.map((list, i) => this.request(i, (id) => ({ k: 'spawn', keys: list, id }))));
  }

  async passivate(all: boolean): Promise<number> {
    const res = await Promise.all(this.shards.map((_, i) => this.request(i, (id) => ({ k: 'passivate', id, all }))));
    return res.reduce((n, m) => n + (m.k === 'done' ? m.count : 0), 0);
  }

  async stats(gc = false): Promise<ShardStats[]> {
    const res = await Promise.all(this.shards.map((_, i) => this.request(i, (id) => ({ k: 'stats', id, gc }))));
    return res.flatMap((m) => (m.k === 'stats' ? [m.stats] : []));
  }

  /** Refuses new work, waits for every acknowledgement, persists actor state, ends the workers. */
  async stop(timeoutMs: number): Promise<void> {
    this.stopping = true;
    const deadline = Date.now() + timeoutMs;
    while (this.pending.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(this.shards.map((_, i) => this.request(i, (id) => ({ k: 'drain', id })))),
      new Promise((r) => (timer = setTimeout(r, Math.max(1000, deadline - Date.now())))),
    ]);
    clearTimeout(timer);
    await Promise.all(this.shards.map((s) => s.worker.terminate()));
  }
}
