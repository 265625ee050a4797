import { chatMessage, startBenchHub, startBenchRedis } from './lib/env.ts';
import { FarSide } from './lib/farside.ts';
import { paced } from './lib/load.ts';
import { percentiles } from './lib/stats.ts';
const redis = await startBenchRedis();
const h = await startBenchHub(redis.url, 'tmpl' + Date.now(), { runtime: { shards: Number(process.argv[2] ?? 2) } });
const far = new FarSide(h.loopback);
let k = 0;
for (const rate of process.argv.slice(3).map(Number)) {
  const total = rate * 4;
  const tag = `r${k++}`;
  const ph = far.expect(tag, total);
  const ack: number[] = [];
  const t0 = performance.now();
  await paced(rate, total, (i) => {
    const id = `${tag}-${i}`;
    const s = performance.now();
    ph.started(id, s);
    void h.hub.ingest(chatMessage(id, i, 200)).then(() => ack.push(performance.now() - s));
  });
  const sent = performance.now();
  await ph.done();
  const [p50, p90, p99] = percentiles(ph.latencies, [50, 90, 99]).map((x) => x.toFixed(1));
  const [a50, a99] = percentiles(ack, [50, 99]).map((x) => x.toFixed(1));
  console.log(`rate ${rate} offered ${Math.round(total / ((sent - t0) / 1000))}/s  e2e p50 ${p50} p90 ${p90} p99 ${p99}  ack p50 ${a50} p99 ${a99}  load ${(await import('node:os')).loadavg()[0]}`);
  h.loopback.delivered.length = 0;
  await new Promise((r) => setTimeout(r, 500));
}
far.close();
await h.stop();
await redis.stop();
process.exit(0);
