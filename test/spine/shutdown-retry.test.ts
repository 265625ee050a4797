import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { im, startTestHub, teamsUser, until, xmppUser, type TestHub } from '../support/hub.ts';
import { startTestRedis, type TestRedis } from '../support/redis.ts';

describe('stopping while a delivery waits out its retries', () => {
  let redis: TestRedis;
  beforeAll(async () => {
    redis = await startTestRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it('puts the job back in the queue (not in the dead letters) and the next run delivers it', async () => {
    const shared = {
      redis: { keyPrefix: `stop${Date.now()}` },
      delivery: { encryptionKey: randomBytes(32).toString('base64'), backoffBaseMs: 2000, backoffMaxMs: 2000, attempts: 5 },
      runtime: { drainTimeoutMs: 500, shards: 1 },
    };
    const first: TestHub = await startTestHub(redis.url, shared);
    let tries = 0;
    first.loopback.setFault((item) => {
      if (item.env.id !== 'held-1') return undefined;
      tries++;
      return { ok: false, error: { code: 'DELIVERY_UNAVAILABLE', message: 'down', retryable: true } };
    });
    expect((await first.hub.ingest(im('held-1', teamsUser(1), xmppUser(1)))).outcome).toBe('accepted');
    await until(() => tries >= 2, 10_000, 'a retry under way');
    await first.stop();

    const second = await startTestHub(redis.url, shared);
    try {
      await until(() => second.loopback.delivered.some((d) => d.env.id === 'held-1'), 20_000, 'delivery after restart');
      await second.hub.collectMetrics();
      const failed = (await second.hub.metrics.queueJobs.get()).values.find((v) => v.labels.state === 'failed')?.value;
      expect(failed).toBe(0);
      expect(second.loopback.delivered.filter((d) => d.env.type === 'error')).toEqual([]);
    } finally {
      await second.stop();
    }
  }, 60_000);
});
