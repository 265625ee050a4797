import { randomBytes } from 'node:crypto';
import { Job, Queue } from 'bullmq';
import type { ChainableCommander, Redis } from 'ioredis';
import type { ContentCipher } from './crypto.ts';
import { markKey } from './idempotency.ts';
import { queueName, sealItems, type OutboundItem } from './items.ts';

export type OutboxBatch = Map<string, OutboundItem[]>;

/**
 * A job just stored, with its items, for the fast path: [connector, job id,
 * items, keys of its items already marked delivered when it was stored].
 */
export type CommittedJob = [connector: string, jobId: string, items: OutboundItem[], marked: string[]];

/** An actor state to store with a batch: [key, stored bytes]. */
export type StateWrite = readonly [key: string, value: Buffer];

/**
 * Stores the states only if every job of the transaction is there: a state
 * that records a message as seen never reaches Redis without the job that
 * delivers it. With a fast path, it then takes back the delayed-job markers
 * the job scripts just set (a transaction wakes blocked clients only once it
 * is done): they would wake the consumer for jobs the fast path delivers, and
 * the consumer looks at delayed jobs at least every `drainDelay` anyway.
 * KEYS: markers (ARGV[1]), job keys (ARGV[2]), state keys. ARGV: those counts, ttl, state values.
 */
const SAVE_STATES = `
local markers = tonumber(ARGV[1])
local jobs = tonumber(ARGV[2])
for i = markers + 1, markers + jobs do
  if redis.call('EXISTS', KEYS[i]) == 0 then return redis.error_reply('ERR job ' .. KEYS[i] .. ' was not stored') end
end
for i = 1, markers do redis.call('ZREM', KEYS[i], '1') end
local first = markers + jobs + 1
for i = first, #KEYS do
  redis.call('SET', KEYS[i], ARGV[i - first + 4], 'EX', ARGV[3])
end
return #KEYS - first + 1`;

/** A batch sealed into jobs, ready to commit (and to commit again after a failure). */
export interface PreparedBatch {
  queues: Queue[];
  jobs: Array<[Queue, Job]>;
  committed: CommittedJob[];
}

type WithSaveStates = ChainableCommander & {
  parleySaveStates(numKeys: number, ...args: Array<string | Buffer | number>): ChainableCommander;
  /** What BullMQ's job scripts call on the transaction they are given. */
  runCommand(name: string, args: unknown[]): ChainableCommander;
};

interface ScriptDefinition {
  lua: string;
  numberOfKeys: number | null;
}

/**
 * The producer side of delivery: items gathered during one turn of a shard are
 * sealed into as few BullMQ jobs as the batch size allows, one queue per
 * connector. Order within and across jobs follows the order of `add`.
 */
export class Outbox {
  private readonly queues = new Map<string, Queue>();
  private pending: OutboxBatch = new Map();
  private count = 0;
  private readonly idPrefix = `o${randomBytes(6).toString('hex')}.`;
  private jobSeq = 0;

  private commandsReady = false;

  /**
   * `redis` holds BullMQ's queues (and its 50-odd scripts); `commits` takes the
   * transactions, with only the job-adding scripts: a transaction on a
   * connection copies every script the connection knows, which would cost
   * more than the rest of a small commit.
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

  add(connector: string, item: OutboundItem): void {
    let list = this.pending.get(connector);
    if (!list) {
      list = [];
      this.pending.set(connector, list);
    }
    list.push(item);
    this.count++;
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
    const prepared: PreparedBatch = { queues: [], jobs: [], committed: [] };
    for (const [connector, items] of batch) {
      const name = queueName(connector);
      const queue = this.queue(connector);
      prepared.queues.push(queue);
      for (let i = 0; i < items.length; i += this.batchMaxItems) {
        const chunk = items.slice(i, i + this.batchMaxItems);
        const jobId = this.nextJobId();
        const opts = { jobId, removeOnComplete: true, removeOnFail: { age: 7 * 24 * 3600 }, ...(this.fastPathDelayMs > 0 ? { delay: this.fastPathDelayMs } : {}) };
        prepared.jobs.push([queue, new Job(queue, 'deliver', sealItems(chunk, this.cipher, name), opts, jobId)]);
        prepared.committed.push([connector, jobId, chunk, []]);
      }
    }
    return prepared;
  }

  /**
   * Stores the prepared jobs and then `states`, in one transaction (one round
   * trip), the states only once every job is there. Resolves with the jobs.
   */
  async commit(prepared: PreparedBatch, states: readonly StateWrite[], ttlSeconds: number): Promise<CommittedJob[]> {
    const first = prepared.queues[0];
    if (!first) throw new Error('outbox: empty batch');
    await first.client;
    this.defineCommands();
    const tx = this.commits.multi() as unknown as WithSaveStates;
    tx.runCommand = (name, args) => {
      const command = (tx as unknown as Record<string, ((a: unknown[]) => ChainableCommander) | undefined>)[name];
      if (!command) throw new Error(`outbox: BullMQ script ${name} is not defined on the commit connection`);
      return command.call(tx, args);
    };
    const parent = { parentKey: undefined, parentDependenciesKey: '' };
    for (const [, job] of prepared.jobs) void job.addJob(tx as never, parent as never);
    const markers = this.fastPathDelayMs > 0 ? prepared.queues.map((q) => q.keys.marker as string) : [];
    const keys = [...markers, ...prepared.jobs.map(([q, job]) => `${q.qualifiedName}:${job.id}`)];
    const values: Buffer[] = [];
    for (const [key, value] of states) {
      keys.push(key);
      values.push(value);
    }
    tx.parleySaveStates(keys.length, ...keys, markers.length, prepared.jobs.length, ttlSeconds, ...values);
    // The fast path's idempotency check, read in the same round trip.
    const itemKeys = prepared.committed.flatMap(([, , items]) => items.map((i) => i.key));
    tx.mget(...itemKeys.map((k) => markKey(this.prefix, k)));
    const results = await tx.exec();
    if (!results) throw new Error('outbox: transaction discarded');
    for (const [err] of results) if (err) throw err;
    const marks = (results.at(-1)?.[1] ?? []) as Array<string | null>;
    let i = 0;
    for (const job of prepared.committed) {
      const marked: string[] = [];
      for (const item of job[2]) if (marks[i++] !== null) marked.push(item.key);
      job[3] = marked;
    }
    return prepared.committed;
  }

  /** BullMQ's job-adding scripts (once its queue has loaded them) and ours, on the commit connection. */
  private defineCommands(): void {
    if (this.commandsReady) return;
    const known = (this.redis as unknown as { scriptsSet: Record<string, ScriptDefinition> }).scriptsSet;
    for (const [name, script] of Object.entries(known)) {
      if (name.startsWith('add')) this.commits.defineCommand(name, { lua: script.lua, numberOfKeys: script.numberOfKeys ?? undefined });
    }
    this.commits.defineCommand('parleySaveStates', { lua: SAVE_STATES });
    this.commandsReady = true;
  }

  private nextJobId(): string {
    // Unique across restarts and shards; never all digits (BullMQ refuses integer custom ids).
    return `${this.idPrefix}${(++this.jobSeq).toString(36)}`;
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.close()));
  }
}
