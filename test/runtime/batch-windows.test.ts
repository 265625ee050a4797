import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { im, startTestHub, teamsUser, until, xmppUser, type TestHub } from '../support/hub.ts';
import { startTestRedis, type TestRedis } from '../support/redis.ts';

const WINDOW_MS = 300;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function transactions(redis: Redis): Promise<number> {
  const info = await redis.info('commandstats');
  return Number(/cmdstat_exec:calls=(\d+)/.exec(info)?.[1] ?? 0);
}

describe.each([
  ['commit window', { shards: 1, sendWindowMs: 0, commitWindowMs: WINDOW_MS }],
  ['send window', { shards: 1, sendWindowMs: WINDOW_MS, commitWindowMs: 0 }],
])('%s', (_name, runtime) => {
  let redis: TestRedis;
  let t: TestHub;
  let client: Redis;
  let n = 0;
  const next = (tag: string) => im(`${tag}-${++n}`, teamsUser(n % 7), xmppUser(n % 7));

  beforeAll(async () => {
    redis = await startTestRedis();
    t = await startTestHub(redis.url, { runtime });
    client = new Redis(redis.url);
  });
  afterAll(async () => {
    client?.disconnect();
    await t?.stop();
    await redis?.stop();
  });

  it('does not hold back a message that comes after a quiet spell', async () => {
    await t.hub.ingest(next('warm'));
    await sleep(WINDOW_MS + 100);
    const t0 = performance.now();
    const ack = await t.hub.ingest(next('lone'));
    expect(ack.outcome).toBe('accepted');
    expect(performance.now() - t0).toBeLessThan(WINDOW_MS / 2);
  });

  it('gathers what comes within the window into one batch, durably acknowledged and delivered once', async () => {
    await sleep(WINDOW_MS + 100);
    const first = performance.now();
    expect((await t.hub.ingest(next('opens'))).outcome).toBe('accepted');
    const before = await transactions(client);
    // Twenty messages spread over ~100 ms: without a window each would be a write of its own.
    const acks: Array<Promise<{ outcome: string; at: number }>> = [];
    for (let i = 0; i < 20; i++) {
      acks.push(t.hub.ingest(next('burst')).then((a) => ({ outcome: a.outcome, at: performance.now() })));
      await sleep(5);
    }
    const settled = await Promise.all(acks);
    expect(settled.every((a) => a.outcome === 'accepted')).toBe(true);
    // Held until the window that the first message opened had passed ...
    expect(Math.min(...settled.map((a) => a.at)) - first).toBeGreaterThanOrEqual(WINDOW_MS - 20);
    // ... and then written together.
    expect((await transactions(client)) - before).toBeLessThanOrEqual(2);
    await until(() => t.loopback.delivered.filter((d) => d.env.id.startsWith('burst-')).length === 20, 10_000, 'the burst delivered');
    const ids = t.loopback.delivered.map((d) => d.env.id);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
