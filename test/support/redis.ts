import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ManagedRedis } from '../../src/state/managed-redis.ts';

/** A real redis-server of the test's own, on a free loopback port, AOF on, in a temp dir. */
export interface TestRedis {
  url: string;
  server: ManagedRedis;
  dir: string;
  stop(): Promise<void>;
}

export async function startTestRedis(): Promise<TestRedis> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'parley-redis-'));
  const server = await ManagedRedis.start({ binary: 'redis-server', dir, port: 0 });
  return {
    url: server.url,
    server,
    dir,
    async stop() {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
