import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import type { ConfigInput } from '../../src/config/schema.ts';
import { startTestHub, type TestHub } from './hub.ts';
import { ParleyProcess } from './parley-process.ts';
import { startTestRedis, type TestRedis } from './redis.ts';

/** A real Redis and an in-process hub for the enclosing describe block (filled in by beforeAll). */
export function useRedisAndHub(input: ConfigInput = { runtime: { shards: 2 } }): { redis: TestRedis; t: TestHub } {
  const ctx = {} as { redis: TestRedis; t: TestHub };
  beforeAll(async () => {
    ctx.redis = await startTestRedis();
    ctx.t = await startTestHub(ctx.redis.url, input);
  });
  afterAll(async () => {
    await ctx.t?.stop();
    await ctx.redis?.stop();
  });
  return ctx;
}

/**
 * A real Redis and Parley as a separate process (2 shards) whose loopback
 * connector appends deliveries to a Redis stream, for kill and drain tests.
 */
export function useRedisAndParley(stream: string, env: Record<string, string> = {}): { redis: TestRedis; parley: ParleyProcess } {
  const ctx = {} as { redis: TestRedis; parley: ParleyProcess };
  let dataDir = '';
  beforeAll(async () => {
    ctx.redis = await startTestRedis();
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'parley-proc-'));
    ctx.parley = await ParleyProcess.create({
      REDIS_URL: ctx.redis.url,
      PARLEY_DATA_DIR: dataDir,
      PARLEY_SHARDS: '2',
      PARLEY_LOOPBACK: 'true',
      PARLEY_LOOPBACK_PLATFORMS: 'teams,xmpp',
      PARLEY_LOOPBACK_SINK: 'redis-stream',
      PARLEY_LOOPBACK_STREAM: stream,
      PARLEY_LOG_LEVEL: 'warn',
      ...env,
    });
    await ctx.parley.start();
  });
  afterAll(async () => {
    await ctx.parley?.signal('SIGKILL');
    await ctx.redis?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });
  return ctx;
}
