import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { queueName, type JobPayload } from '../delivery/items.ts';

export interface QueueCounts {
  waiting: number;
  active: number;
  delayed: number;
  failed: number;
  prioritized: number;
}

/** A failed delivery job, described without its (sealed) content. */
export interface DeadLetter {
  id: string;
  connector: string;
  items: number;
  attempts: number;
  error: string;
  createdAt: number;
  failedAt?: number;
}

/** Read and act on the connectors' BullMQ delivery queues: counts, failed jobs, replay, discard. */
export class DeliveryQueues {
  private readonly queues = new Map<string, Queue<JobPayload>>();

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    connectors: readonly string[],
  ) {
    for (const c of connectors) this.queues.set(c, new Queue<JobPayload>(queueName(c), { connection: redis, prefix }));
  }

  has(connector: string): boolean {
    return this.queues.has(connector);
  }

  async counts(connector: string): Promise<QueueCounts> {
    const c = await this.queue(connector).getJobCounts('waiting', 'active', 'delayed', 'failed', 'prioritized');
    return { waiting: c.waiting ?? 0, active: c.active ?? 0, delayed: c.delayed ?? 0, failed: c.failed ?? 0, prioritized: c.prioritized ?? 0 };
  }

  async deadLetters(connector: string | undefined, offset: number, limit: number): Promise<{ total: number; deadLetters: DeadLetter[] }> {
    const names = connector ? [connector] : [...this.queues.keys()];
    const totals = await Promise.all(names.map((n) => this.queue(n).getFailedCount()));
    const total = totals.reduce((a, b) => a + b, 0);
    const out: DeadLetter[] = [];
    let skip = offset;
    for (const [i, name] of names.entries()) {
      const n = totals[i] ?? 0;
      if (skip >= n) {
        skip -= n;
        continue;
      }
      const jobs = await this.queue(name).getFailed(skip, skip + (limit - out.length) - 1);
      skip = 0;
      for (const job of jobs) {
        if (!job?.id) continue;
        out.push({
          id: job.id,
          connector: name,
          items: typeof job.data?.n === 'number' ? job.data.n : 0,
          attempts: job.attemptsMade,
          error: (job.failedReason ?? '').slice(0, 1000),
          createdAt: job.timestamp,
          ...(job.finishedOn ? { failedAt: job.finishedOn } : {}),
        });
      }
      if (out.length >= limit) break;
    }
    return { total, deadLetters: out };
  }

  /** Puts failed jobs back to be delivered again; ids not found (or not failed) are returned as missing. */
  async replay(connector: string, ids: readonly string[]): Promise<{ done: number; missing: string[] }> {
    return this.each(connector, ids, async (job) => {
      await job.retry('failed');
    });
  }

  async discard(connector: string, ids: readonly string[]): Promise<{ done: number; missing: string[] }> {
    return this.each(connector, ids, async (job) => {
      await job.remove();
    });
  }

  private async each(
    connector: string,
    ids: readonly string[],
    act: (job: NonNullable<Awaited<ReturnType<Queue<JobPayload>['getJob']>>>) => Promise<void>,
  ): Promise<{ done: number; missing: string[] }> {
    const q = this.queue(connector);
    let done = 0;
    const missing: string[] = [];
    for (const id of ids) {
      const job = await q.getJob(id);
      if (!job || !(await job.isFailed())) {
        missing.push(id);
        continue;
      }
      await act(job);
      done++;
    }
    return { done, missing };
  }

  private queue(connector: string): Queue<JobPayload> {
    const q = this.queues.get(connector);
    if (!q) throw new Error(`no delivery queue for connector ${connector}`);
    return q;
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.close()));
  }

  get connection(): Redis {
    return this.redis;
  }

  get keyPrefix(): string {
    return this.prefix;
  }
}
