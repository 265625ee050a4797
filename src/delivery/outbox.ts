import { randomBytes } from 'node:crypto';
import { Job, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Packr } from 'msgpackr';
import type { Envelope } from '../core/envelope.ts';
import type { RedisScript } from '../state/script.ts';
import { commitScript } from './commit-script.ts';
import type { ContentCipher } from './crypto.ts';
import { markKey } from './idempotency.ts';
import { queueName, sealRun, type JobPayload, type OutboundItem } from './items.ts';
import { PackedRun, runPacker, type HeldItem } from './packed-items.ts';

/** One connector's items of a turn, in runs of at most a job's worth. */
export type OutboxBatch = Map<string, PackedRun[]>;

/**
 * A job just stored, with its items, for the fast path: [connector, job id,
 * items, keys of its items already marked delivered when it was stored].
 */
export type CommittedJob = [connector: string, jobId: string, items: HeldItem[], marked: string[]];

/** An actor state to store with a batch: [key, stored bytes]. */
export type StateWrite = readonly [key: string, value: Buffer];

/** A batch sealed into jobs, ready to commit (and to commit again after a failure). */
export interface PreparedBatch {
  queues: Queue[];
  /** BullMQ's job-adding script for these jobs, and each job's keys and args for it, as BullMQ built them. */
  script: string | undefined;
  calls: JobCall[];
  committed: CommittedJob[];
}

type JobArg = string | Buffer | number;
type JobCall = JobArg[];

interface ScriptDefinition {
  lua: string;
  numberOfKeys: number | null;
}

/**
 * Stands in for a Redis connection while BullMQ's `Job.addJob` builds its
 * script call: it keeps the call instead of sending it, so that the call
 * goes to Redis inside the commit script.
 */
class JobCallRecorder {
  script: string | undefined;
  calls: JobCall[] = [];

  runCommand(name: string, args: JobArg[]): Promise<number> {
    if (this.script !== undefined && this.script !== name) throw new Error(`outbox: jobs of one commit use two BullMQ scripts (${this.script}, ${name})`);
    this.script = name;
    this.calls.push(args);
    return Promise.resolve(1);
  }
}

/**
 * The producer side of delivery: items gathered during one turn of a shard are
 * sealed into as few BullMQ jobs as the batch size allows, one queue per
 * connector. Order within and across jobs follows the order of `add`.
 */
export class Outbox {
  private readonly queues = new Map<string, Queue>();
  private readonly packers = new Map<string, Packr>();
  private pending: OutboxBatch = new Map();
  private count = 0;
  private readonly idPrefix = `o${randomBytes(6).toString('hex')}.`;
  private jobSeq = 0;

  /** Commit scripts by BullMQ job-adding script name, with that script's key count. */
  private readonly scripts = new Map<string, [RedisScript, number]>();

  /**
   * `redis` holds BullMQ's queues (and its 50-odd scripts); `commits` takes
   * the commit calls, so that a large commit never waits behind BullMQ's own
   * traffic on the same connection.
   */
  constructor(
    private readonly redis: Redis,
    private readonly commits: Redis,
    private readonly prefix: string,
    private readonly cipher: ContentCipher,
    private readonly batchMaxItems: number,
    /**
     * With a fast path, jobs wait this long before the queue's consumer may take
     * them: by then the fast path has delivered their items and removed them.
     */
    private readonly fastPathDelayMs: number,
  ) {}

  get size(): number {
    return this.count;
  }

  /** Packs `item` now; keeps its key, chat and `ref` (by default its envelope) for the committed job. */
  add(connector: string, item: OutboundItem, ref: Envelope | number = item.env): void {
    let runs = this.pending.get(connector);
    if (!runs) {
      runs = [];
      this.pending.set(connector, runs);
    }
    let run = runs[runs.length - 1];
    if (!run || run.count >= this.batchMaxItems) {
      run = new PackedRun(this.packer(connector));
      runs.push(run);
    }
    run.add(item, ref);
    this.count++;
  }

  /** Each connector's packer: its runs follow one another. */
  private packer(connector: string): Packr {
    let p = this.packers.get(connector);
    if (!p) {
      p = runPacker();
      this.packers.set(connector, p);
    }
    return p;
  }

  take(): OutboxBatch {
    const batch = this.pending;
    this.pending = new Map();
    this.count = 0;
    return batch;
  }

  private queue(connector: string): Queue {
    let q = this.queues.get(connector);
    if (!q) {
      q = new Queue(queueName(connector), { connection: this.redis, prefix: this.prefix });
      this.queues.set(connector, q);
    }
    return q;
  }

  /** Seals the batch into jobs with ids of their own: a retried commit of it stores each job once. */
  prepare(batch: OutboxBatch): PreparedBatch {
    const recorder = new JobCallRecorder();
    const prepared: PreparedBatch = { queues: [], script: undefined, calls: recorder.calls, committed: [] };
    for (const [connector, runs] of batch) {
      const name = queueName(connector);
      const queue = this.queue(connector);
      prepared.queues.push(queue);
      for (const run of runs) {
        const jobId = this.nextJobId();
        this.record(recorder, queue, sealRun(run, this.cipher, name), jobId);
        prepared.committed.push([connector, jobId, run.held, []]);
      }
    }
    prepared.script = recorder.script;
    if (recorder.calls.length !== prepared.committed.length) throw new Error('outbox: BullMQ did not build a script call for every job');
    return prepared;
  }

  /**
   * Stores the prepared jobs and then `states`, in one script call (one round
   * trip), the states only once every job is there, and reads the marks of
   * the jobs' items. Resolves with the jobs.
   */
  async commit(prepared: PreparedBatch, states: readonly StateWrite[], ttlSeconds: number): Promise<CommittedJob[]> {
    const first = prepared.queues[0];
    if (!first || !prepared.script) throw new Error('outbox: empty batch');
    await first.client;
    const [script, keysPerJob] = this.commitScript(prepared.script);
    const markers = this.fastPathDelayMs > 0 ? prepared.queues.map((q) => q.keys.marker as string) : [];
    const keys: string[] = [...markers];
    const jobArgs: JobArg[] = [];
    for (const call of prepared.calls) {
      for (let i = 0; i < keysPerJob; i++) keys.push(call[i] as string);
      for (let i = keysPerJob; i < call.length; i++) jobArgs.push(call[i] as JobArg);
    }
    const argsPerJob = (prepared.calls[0]?.length ?? keysPerJob) - keysPerJob;
    const values: Buffer[] = [];
    for (const [key, value] of states) {
      keys.push(key);
      values.push(value);
    }
    // The fast path's idempotency check, read in the same call.
    let markCount = 0;
    for (const [, , items] of prepared.committed) {
      for (const [key] of items) keys.push(markKey(this.prefix, key));
      markCount += items.length;
    }
    const header = [markers.length, prepared.calls.length, keysPerJob, argsPerJob, ttlSeconds, markCount].map(String);
    const marks = (await script.run(this.commits, keys, [...header, ...(jobArgs as Array<string | Buffer>), ...values])) as Array<string | null>;
    let i = 0;
    for (const job of prepared.committed) {
      const marked: string[] = [];
      for (const [key] of job[2]) if (marks[i++] !== null) marked.push(key);
      job[3] = marked;
    }
    return prepared.committed;
  }

  /**
   * Checks, before any message is accepted, that the pinned BullMQ still
   * builds its jobs the way the commit script runs them: one script call per
   * job, a script it has loaded. Throws otherwise: a hub that cannot store a
   * delivery must not start.
   */
  async verify(connectors: readonly string[]): Promise<void> {
    for (const connector of connectors) {
      const queue = this.queue(connector);
      await queue.client;
      const recorder = new JobCallRecorder();
      this.record(recorder, queue, { v: 1, n: 0, c: '' }, 'probe');
      if (!recorder.script || recorder.calls.length !== 1) throw new Error('outbox: this BullMQ version does not add a job with one script call');
      this.commitScript(recorder.script);
    }
  }

  /** Has BullMQ build a delivery job's script call, which it does synchronously; the recorder keeps it. */
  private record(recorder: JobCallRecorder, queue: Queue, data: JobPayload, jobId: string): void {
    const opts = { jobId, removeOnComplete: true, removeOnFail: { age: 7 * 24 * 3600 }, ...(this.fastPathDelayMs > 0 ? { delay: this.fastPathDelayMs } : {}) };
    void new Job(queue, 'deliver', data, opts, jobId).addJob(recorder as never, { parentKey: undefined, parentDependenciesKey: '' } as never);
  }

  /** The commit script around BullMQ's job-adding script `name` (once its queue has loaded it), and that script's key count. */
  private commitScript(name: string): [RedisScript, number] {
    const ready = this.scripts.get(name);
    if (ready) return ready;
    const known = (this.redis as unknown as { scriptsSet: Record<string, ScriptDefinition | undefined> }).scriptsSet[name];
    if (!known || known.numberOfKeys === null) throw new Error(`outbox: BullMQ script ${name} is not loaded`);
    const made: [RedisScript, number] = [commitScript(known.lua), known.numberOfKeys];
    this.scripts.set(name, made);
    return made;
  }

  private nextJobId(): string {
    // Unique across restarts and shards; never all digits (BullMQ refuses integer custom ids).
    return `${this.idPrefix}${(++this.jobSeq).toString(36)}`;
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.close()));
  }
}
