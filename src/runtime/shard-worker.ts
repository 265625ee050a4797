import { randomUUID } from 'node:crypto';
import v8 from 'node:v8';
import vm from 'node:vm';
import { parentPort, workerData } from 'node:worker_threads';
import { behaviourFor } from '../../actors/index.ts';
import type { ActorContext, StepResult } from '../../actors/types.ts';
import type { Platform } from '../core/address.ts';
import { errorInfo, ParleyError, type ErrorInfo } from '../core/errors.ts';
import { metadataFor, type MetadataEvent } from '../core/metadata.ts';
import { CompiledPolicy, type PolicySnapshot } from '../core/policy.ts';
import { chatIdFor } from '../core/routing.ts';
import { ContentCipher } from '../delivery/crypto.ts';
import { idempotencyKey } from '../delivery/items.ts';
import { Outbox, type CommittedJob, type OutboxBatch } from '../delivery/outbox.ts';
import { connectRedis } from '../state/redis.ts';
import { SnapshotStore } from '../state/snapshots.ts';
import { ActorHost } from './actor-host.ts';
import { decodeToShard, encode, type Ack, type FromShard, type Routed, type ToShard } from './protocol.ts';

export interface ShardWorkerData {
  shard: number;
  redisUrl: string;
  prefix: string;
  contentKey: Uint8Array;
  /** Which connector (delivery queue) serves each platform. */
  routes: Partial<Record<Platform, string>>;
  localDomains: string[];
  defaultTenant: string;
  policy: PolicySnapshot;
  mailboxLimit: number;
  batchMaxItems: number;
  snapshotTtlSeconds: number;
  passivateAfterMs: number;
  passivateSweepMs: number;
  /** 0: no fast path (jobs are not handed to the main thread). */
  fastPathDelayMs: number;
  /** Least time between the starts of two durable writes (see runtime.commitWindowMs). */
  commitWindowMs: number;
}

const MAX_FLUSHES_IN_FLIGHT = 1;
const data = workerData as ShardWorkerData;
const port = parentPort;
if (!port) throw new Error('shard-worker must run in a worker thread');

const localDomains = new Set(data.localDomains);
const metaCtx = { localDomains, defaultTenant: data.defaultTenant };
let policy = new CompiledPolicy(data.policy, localDomains);
const redis = connectRedis(data.redisUrl, `parley-shard-${data.shard}`);
const snapshots = new SnapshotStore(redis, data.prefix, data.snapshotTtlSeconds, (actor, err) =>
  console.error(`shard ${data.shard}: snapshot of ${actor} is unreadable, starting it afresh: ${String(err)}`),
);
const commits = connectRedis(data.redisUrl, `parley-shard-${data.shard}-commits`);
const outbox = new Outbox(redis, commits, data.prefix, new ContentCipher(Buffer.from(data.contentKey)), data.batchMaxItems, data.fastPathDelayMs);

let acks: Ack[] = [];
let meta: MetadataEvent[] = [];
let flushScheduled = false;
let flushesInFlight = 0;
let commitsStarted = 0;
let lastCommitAt = Number.NEGATIVE_INFINITY;
let windowTimer: NodeJS.Timeout | undefined;

function post(msg: FromShard): void {
  const buf = encode(msg);
  port?.postMessage(buf, [buf.buffer as ArrayBuffer]);
}

function context(): ActorContext {
  return { policy, defaultTenant: data.defaultTenant, now: Date.now(), newId: randomUUID };
}

function reject(item: Routed, error: ErrorInfo): void {
  // A retryable refusal is not an outcome: the sender sends again.
  if (!error.retryable) meta.push(metadataFor(item[3], chatIdFor(item[3]), 'failed', error.code, metaCtx));
  acks.push([item[0], 'rejected', error]);
  scheduleFlush();
}

function onStep(item: Routed, result: StepResult<unknown>): void {
  let error: ErrorInfo | null = result.error ?? null;
  let outcome = result.outcome;
  for (const effect of result.effects) {
    if (effect.kind === 'metadata') {
      meta.push(effect.event);
      continue;
    }
    // An effect that cannot be stored is a failed row, and rejects the message when it is the message itself.
    let failure: ErrorInfo | undefined;
    const connector = data.routes[effect.env.to.platform];
    if (!connector) failure = new ParleyError('NO_CONNECTOR', `no connector for platform ${effect.env.to.platform}`).toInfo();
    else {
      try {
        // An envelope forwarded unchanged goes back to the main thread as its sequence number: that one still has it.
        outbox.add(connector, { key: idempotencyKey(effect.env), chat: effect.chatId, env: effect.env }, effect.env === item[3] ? item[0] : effect.env);
      } catch (err) {
        // Not a valid envelope's fault (those always pack): a bug, never silent.
        console.error(`shard ${data.shard}: an outbound ${effect.env.type} of ${item[1]} could not be packed: ${String(err)}`);
        failure = new ParleyError('ACTOR_FAILED', `outbound ${effect.env.type} could not be stored`).toInfo();
      }
    }
    if (!failure) continue;
    meta.push(metadataFor(effect.env, effect.chatId, 'failed', failure.code, metaCtx));
    if (effect.env === item[3]) {
      outcome = 'rejected';
      error = failure;
    }
  }
  acks.push([item[0], outcome, error]);
  scheduleFlush();
}

const host = new ActorHost({
  behaviourFor,
  load: (keys) => snapshots.loadMany(keys),
  onStep,
  onCrash: (item, err) => {
    console.error(`shard ${data.shard}: actor ${item[1]} failed and was restarted: ${(err as Error)?.stack ?? String(err)}`);
    reject(item, new ParleyError('ACTOR_FAILED', `actor ${item[1]} failed`).toInfo());
  },
  onOverflow: (item) => reject(item, new ParleyError('OVERLOADED', `mailbox of ${item[1]} is full`).toInfo()),
  afterLoad: scheduleFlush,
  onLoadError: (err) => console.error(`shard ${data.shard}: snapshot load failed, retrying: ${String(err)}`),
  mailboxLimit: data.mailboxLimit,
  context,
});

function scheduleFlush(): void {
  if (flushScheduled) return;
  flushScheduled = true;
  setImmediate(flush);
}

/** Beyond this many changed states, they are written after the jobs, in pipelines of their own. */
const STATES_WITH_JOBS = 5_000;

async function commit(batch: OutboxBatch, dirty: Array<[string, unknown]>): Promise<CommittedJob[]> {
  const withJobs = batch.size > 0 && dirty.length <= STATES_WITH_JOBS;
  const states = withJobs ? snapshots.encode(dirty) : [];
  const prepared = outbox.prepare(batch);
  for (let attempt = 1; ; attempt++) {
    try {
      // Jobs before states: a state that records a message as seen must never
      // reach Redis ahead of the job that delivers it. Together they take one round trip.
      const jobs = batch.size > 0 ? await outbox.commit(prepared, states, snapshots.ttl) : [];
      if (!withJobs) await snapshots.saveMany(dirty);
      return data.fastPathDelayMs > 0 ? jobs : [];
    } catch (err) {
      console.error(`shard ${data.shard}: durable write failed (attempt ${attempt}), retrying: ${String(err)}`);
      await new Promise((r) => setTimeout(r, Math.min(2000, 100 * attempt)));
    }
  }
}

/**
 * Under load, one write per commit window: each write costs about as much
 * CPU (here, in Redis and on the main thread) as a few dozen messages, so
 * writes of two or three messages each would saturate the cores at a
 * fraction of the peak rate. A full job's worth goes at once.
 */
function waitForWindow(): boolean {
  const wait = lastCommitAt + data.commitWindowMs - performance.now();
  if (wait <= 0 || outbox.size >= data.batchMaxItems) return false;
  windowTimer ??= setTimeout(() => {
    windowTimer = undefined;
    flush();
  }, Math.ceil(wait));
  return true;
}

/** Writes the deliveries and changed states gathered so far, then acknowledges the messages behind them. */
function flush(): void {
  flushScheduled = false;
  if (flushesInFlight >= MAX_FLUSHES_IN_FLIGHT) return;
  if (acks.length === 0 && outbox.size === 0 && meta.length === 0) return;
  if (waitForWindow()) return;
  lastCommitAt = performance.now();
  const batch = outbox.take();
  const dirty = host.takeDirty();
  const myAcks = acks;
  const myMeta = meta;
  acks = [];
  meta = [];
  flushesInFlight++;
  commitsStarted++;
  void commit(batch, dirty).then((jobs) => {
    flushesInFlight--;
    post({ k: 'acks', acks: myAcks, meta: myMeta, jobs });
    if (acks.length > 0 || outbox.size > 0) scheduleFlush();
  });
}

let gcFn: (() => void) | undefined;
function collectGarbage(): void {
  if (!gcFn) {
    v8.setFlagsFromString('--expose-gc');
    gcFn = vm.runInNewContext('gc') as () => void;
  }
  gcFn();
}

/** Persists changed states once every pending flush is done (never ahead of their jobs). */
async function persistDirty(): Promise<void> {
  while (flushesInFlight > 0 || flushScheduled || acks.length > 0 || outbox.size > 0) await new Promise((r) => setTimeout(r, 5));
  await commit(new Map(), host.takeDirty());
}

let sweeping = false;
const sweep = setInterval(() => {
  if (sweeping) return;
  sweeping = true;
  void persistDirty()
    .then(() => host.passivate(Math.floor(data.passivateAfterMs / 1000)))
    .finally(() => (sweeping = false));
}, data.passivateSweepMs);
sweep.unref();

async function handle(msg: ToShard): Promise<void> {
  switch (msg.k) {
    case 'batch': {
      const ctx = context();
      for (const item of msg.items) host.receive(item, ctx);
      return;
    }
    case 'policy':
      policy = new CompiledPolicy(msg.snapshot, localDomains);
      return;
    case 'spawn':
      host.spawn(msg.keys);
      post({ k: 'done', id: msg.id, count: host.resident });
      return;
    case 'passivate': {
      await persistDirty();
      const n = host.passivate(msg.all ? -1 : Math.floor(data.passivateAfterMs / 1000));
      post({ k: 'done', id: msg.id, count: n });
      return;
    }
    case 'stats': {
      if (msg.gc) collectGarbage();
      post({
        k: 'stats',
        id: msg.id,
        stats: {
          shard: data.shard,
          resident: host.resident,
          loading: host.loading,
          heapUsed: v8.getHeapStatistics().used_heap_size,
          processed: host.processed,
          restarts: host.restarts,
          passivated: host.passivated,
          flushesInFlight,
          commits: commitsStarted,
        },
      });
      return;
    }
    case 'drain': {
      while (flushesInFlight > 0 || acks.length > 0 || outbox.size > 0) {
        flush();
        await new Promise((r) => setTimeout(r, 5));
      }
      await persistDirty();
      clearInterval(sweep);
      clearTimeout(windowTimer);
      await outbox.close();
      redis.disconnect();
      commits.disconnect();
      post({ k: 'done', id: msg.id, count: host.resident });
      return;
    }
  }
}

port.on('message', (buf: Uint8Array) => {
  handle(decodeToShard(buf)).catch((err: unknown) => post({ k: 'fatal', message: errorInfo(err).message }));
});
redis.on('error', (err) => console.error(`shard ${data.shard}: redis: ${err.message}`));
commits.on('error', () => undefined);
outbox
  .verify([...new Set(Object.values(data.routes))].filter((c): c is string => c !== undefined))
  .then(
    () => post({ k: 'ready' }),
    (err: unknown) => post({ k: 'fatal', message: `delivery cannot start: ${errorInfo(err).message}` }),
  );
