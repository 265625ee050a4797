import { Redis, type RedisOptions } from 'ioredis';

/**
 * A Redis connection that rides out a Redis restart: commands wait while it is
 * down (no per-request retry limit) and reconnects back off up to 2 s.
 */
export function connectRedis(url: string, name: string, extra: RedisOptions = {}): Redis {
  return new Redis(url, {
    connectionName: name,
    maxRetriesPerRequest: null,
    enableOfflineQueue: true,
    retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 6), 2000),
    ...extra,
  });
}

export async function waitForRedis(r: Redis, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if ((await r.ping()) === 'PONG') return;
    } catch (e) {
      if (Date.now() > deadline) throw e;
    }
    if (Date.now() > deadline) throw new Error('Redis did not answer in time');
    await new Promise((res) => setTimeout(res, 100));
  }
}
