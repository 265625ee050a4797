import { ManagedRedis } from '../../src/state/managed-redis.ts';

/** A real redis-server of the test's own, on a free loopback port, AOF on, in a temp dir. */
export interface TestRedis {
  url: string;
  server: ManagedRedis;
  stop(): Promise<void>;
}

export async function startTestRedis(): Promise<TestRedis> {
  const server = await ManagedRedis.temporary();
  return { url: server.url, server, stop: () => server.stop() };
}
