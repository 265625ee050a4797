import { randomBytes } from 'node:crypto';
import { Job, Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ContentCipher } from '../../src/delivery/crypto.ts';
import { markKey } from '../../src/delivery/idempotency.ts';
import { idempotencyKey, openItems, queueName, type JobPayload, type OutboundItem } from '../../src/delivery/items.ts';
import { Outbox } from '../../src/delivery/outbox.ts';
import { connectRedis } from '../../src/state/redis.ts';
import { im, teamsUser, xmppUser } from '../support/hub.ts';
import { startTestRedis, type TestRedis } from '../support/redis.ts';

const cipher = new ContentCipher(randomBytes(32));
let seq = 0;
const prefix = (): string => `obx${process.pid}x${++seq}`;

function items(n: number, tag: string): OutboundItem[] {
  return Array.from({ length: n }, (_, i) => {
    const env = im(`${tag}-${i}`, teamsUser(i % 7), xmppUser(i % 7));
    return { key: idempotencyKey(env), chat: `chat-${i % 7}`, env };
  });
}

describe('outbox commit (one script call per commit)', () => {
  let redis: TestRedis;
  let queues: Redis;
  let commits: Redis;
  let admin: Redis;

  beforeAll(async () => {
    redis = await startTestRedis();
    queues = connectRedis(redis.url, 'outbox-test-queues');
    commits = connectRedis(redis.url, 'outbox-test-commits');
    admin = new Redis(redis.url);
  });
  afterAll(async () => {
    queues.disconnect();
    commits.disconnect();
    admin.disconnect();
    await redis.stop();
  });

  /** A fresh key prefix and an outbox on it, checked as a shard checks it at start. */
  async function openOutbox(batchMaxItems: number, fastPathDelayMs: number): Promise<{ p: string; outbox: Outbox }> {
    const p = prefix();
    const outbox = new Outbox(queues, commits, p, cipher, batchMaxItems, fastPathDelayMs);
    await outbox.verify(['loopback']);
    return { p, outbox };
  }

  /** Runs `body` with BullMQ's own view of the loopback queue under `p`, then closes it and `outbox`. */
  async function withQueue(p: string, outbox: Outbox, body: (queue: Queue) => Promise<void>): Promise<void> {
    const queue = new Queue(queueName('loopback'), { connection: admin, prefix: p });
    try {
      await body(queue);
    } finally {
      await queue.close();
      await outbox.close();
    }
  }

  it('stores jobs that BullMQ reads as its own, states with them, and the marks of their items', async () => {
    const { p, outbox } = await openOutbox(3, 5_000);
    const list = items(7, 'a');
    await admin.set(markKey(p, list[4]?.key ?? ''), '1');
    for (const item of list) outbox.add('loopback', item);
    const jobs = await outbox.commit(outbox.prepare(outbox.take()), [[`${p}:actor:x`, Buffer.from('state-x')]], 60);

    // Seven items in jobs of at most three, in order.
    expect(jobs.map(([, , chunk]) => chunk.length)).toEqual([3, 3, 1]);
    expect(jobs.flatMap(([, , chunk]) => chunk.map(([, , env]) => (typeof env === 'number' ? env : env.id)))).toEqual(list.map((i) => i.env.id));
    expect(jobs.map(([, , , marked]) => marked)).toEqual([[], [list[4]?.key], []]);
    expect(await admin.getBuffer(`${p}:actor:x`)).toEqual(Buffer.from('state-x'));
    expect(await admin.ttl(`${p}:actor:x`)).toBeGreaterThan(50);

    await withQueue(p, outbox, async (queue) => {
      expect(await queue.getDelayedCount()).toBe(3);
      for (const [, jobId, chunk] of jobs) {
        const job = await Job.fromId<JobPayload>(queue, jobId);
        expect(job?.name).toBe('deliver');
        expect(job?.opts.delay).toBe(5_000);
        expect(job?.opts.removeOnComplete).toBe(true);
        expect(openItems(job?.data as JobPayload, cipher, queueName('loopback')).map((i) => i.key)).toEqual(chunk.map(([key]) => key));
      }
    });
  });

  it('gives a BullMQ worker the jobs to run once they are due', async () => {
    const { p, outbox } = await openOutbox(10, 1);
    for (const item of items(4, 'b')) outbox.add('loopback', item);
    const jobs = await outbox.commit(outbox.prepare(outbox.take()), [], 60);
    const seen: string[] = [];
    const worker = new Worker<JobPayload>(
      queueName('loopback'),
      async (job) => {
        seen.push(...openItems(job.data, cipher, queueName('loopback')).map((i) => i.env.id));
      },
      { connection: connectRedis(redis.url, 'outbox-test-worker'), prefix: p, drainDelay: 1 },
    );
    try {
      const deadline = Date.now() + 10_000;
      while (seen.length < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(seen).toEqual(['b-0', 'b-1', 'b-2', 'b-3']);
      expect(jobs).toHaveLength(1);
    } finally {
      await worker.close();
      await outbox.close();
    }
  });

  it('reads the marks of a commit larger than one MGET inside the script', async () => {
    const { p, outbox } = await openOutbox(5_000, 5_000);
    const list = items(2_500, 'c');
    const marked = new Set([0, 999, 1_000, 1_001, 2_499].map((i) => list[i]?.key ?? ''));
    for (const key of marked) await admin.set(markKey(p, key), '1');
    for (const item of list) outbox.add('loopback', item);
    const jobs = await outbox.commit(outbox.prepare(outbox.take()), [], 60);
    expect(new Set(jobs.flatMap(([, , , m]) => m))).toEqual(marked);
    await outbox.close();
  });

  it('stores a retried commit once, and its states', async () => {
    const { p, outbox } = await openOutbox(10, 5_000);
    for (const item of items(2, 'd')) outbox.add('loopback', item);
    const prepared = outbox.prepare(outbox.take());
    await outbox.commit(prepared, [[`${p}:actor:y`, Buffer.from('1')]], 60);
    await outbox.commit(prepared, [[`${p}:actor:y`, Buffer.from('2')]], 60);
    await withQueue(p, outbox, async (queue) => {
      expect(await queue.getDelayedCount()).toBe(1);
      expect(await admin.get(`${p}:actor:y`)).toBe('2');
    });
  });
});
