import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { ContentCipher } from './crypto.ts';
import { queueName, sealItems, type OutboundItem } from './items.ts';

export type OutboxBatch = Map<string, OutboundItem[]>;

/** A job just stored, with its items, for the fast path: [connector, job id, items]. */
export type CommittedJob = [connector: string, jobId: string, items: OutboundItem[]];

/**
 * The producer side of delivery: items gathered during one turn of a shard are
 * sealed into as few BullMQ jobs as the batch size allows, one queue per
 * connector. Order within and across jobs follows the order of `add`.
 */
export class Outbox {
  private readonly queues = new Map<string, Queue>();
  private pending: OutboxBatch = new Map();
  private count = 0;

  constructor(
    private readonly redis: Redis,
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

  /** Resolves once every item of the batch is stored in Redis, with the jobs that hold them. */
  async commit(batch: OutboxBatch): Promise<CommittedJob[]> {
    const writes: Array<Promise<CommittedJob[]>> = [];
    for (const [connector, items] of batch) {
      const name = queueName(connector);
      const chunks: OutboundItem[][] = [];
      for (let i = 0; i < items.length; i += this.batchMaxItems) chunks.push(items.slice(i, i + this.batchMaxItems));
      const jobs = chunks.map((chunk) => ({
        name: 'deliver',
        data: sealItems(chunk, this.cipher, name),
        opts: { removeOnComplete: true, removeOnFail: { age: 7 * 24 * 3600 }, ...(this.fastPathDelayMs > 0 ? { delay: this.fastPathDelayMs } : {}) },
      }));
      writes.push(
        this.queue(connector)
          .addBulk(jobs)
          .then((added) => added.map((job, i): CommittedJob => [connector, job.id ?? '', chunks[i] ?? []])),
      );
    }
    return (await Promise.all(writes)).flat();
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.close()));
  }
}
