import { chatMessage, startBenchHub, startBenchRedis } from './lib/env.ts';
import { FarSide } from './lib/farside.ts';
import { closedLoop } from './lib/load.ts';
const shards = Number(process.argv[2] ?? 2);
const N = Number(process.argv[3] ?? 100000);
const redis = await startBenchRedis();
console.log('redis pid', redis.server.pid);
const h = await startBenchHub(redis.url, 'tmpx' + Date.now(), { runtime: { shards } });
const far = new FarSide(h.loopback);
for (const [tag, n] of [['warm', 5000], ['run', N]] as const) {
  const ph = far.expect(tag, n);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await closedLoop(n, 4000, (i) => h.hub.ingest(chatMessage(`${tag}-${i}`, i, 200)));
  const ta = performance.now();
  const done = await ph.done();
  const cpu = process.cpuUsage(cpu0);
  console.log(tag, 'acked/s', Math.round(n / ((ta - t0) / 1000)), 'delivered/s', Math.round(n / ((done - t0) / 1000)), 'proc cpu s', ((cpu.user + cpu.system) / 1e6).toFixed(1), 'wall s', ((done - t0) / 1000).toFixed(1));
  h.loopback.delivered.length = 0;
}
far.close();
await h.stop();
await redis.stop();
process.exit(0);
