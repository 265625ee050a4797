import { startBenchHub, startBenchRedis } from './lib/env.ts';
const redis = await startBenchRedis();
const h = await startBenchHub(redis.url, 'tmpx1', { runtime: { shards: 2 } });
await h.stop();
await redis.stop();
await new Promise((r) => setTimeout(r, 1000));
console.log(process.getActiveResourcesInfo());
