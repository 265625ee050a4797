/**
 * Where a message's latency goes on the spine: an open-loop sender at RATE msgs/s for SECS seconds
 * (2 shards, loopback far side) prints ingest->ack and ack->far-side percentiles and the worst latency
 * per 250 ms window (periodic stalls show as spikes). `RATE=500 SECS=8 npx tsx bench/latency-probe.ts`
 */
import { startBenchHub, startBenchRedis, chatMessage } from './lib/env.ts';

const rate = Number(process.env.RATE ?? 500);
const seconds = Number(process.env.SECS ?? 8);
const redis = await startBenchRedis();
const h = await startBenchHub(redis.url, `probe${Date.now()}`, { runtime: { shards: 2 } });
const sent = new Map<string, number>();
const acked = new Map<string, number>();
const lat: Array<[number, number, number]> = []; // sendTime, ackLat, totalLat
const t0 = performance.now();
h.loopback.onDelivered((ds) => {
  const now = performance.now();
  for (const d of ds) {
    const s = sent.get(d.env.id);
    if (s === undefined) continue;
    sent.delete(d.env.id);
    lat.push([s - t0, (acked.get(d.env.id) ?? now) - s, now - s]);
  }
});
// warmup
for (let i = 0; i < 2000; i++) await h.hub.ingest(chatMessage(`w${i}`, i, 200));
await new Promise((r) => setTimeout(r, 500));
const total = rate * seconds;
const start = performance.now();
let i = 0;
await new Promise<void>((resolve) => {
  const tick = () => {
    const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * rate));
    for (; i < due; i++) {
      const id = `m${i}`;
      const env = chatMessage(id, i, 200);
      sent.set(id, performance.now());
      void h.hub.ingest(env).then(() => acked.set(id, performance.now()));
    }
    if (i >= total) resolve();
    else setTimeout(tick, 1);
  };
  tick();
});
while (sent.size > 0) await new Promise((r) => setTimeout(r, 50));
const pct = (a: number[], p: number) => { const s = [...a].sort((x, y) => x - y); return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? 0; };
const tot = lat.map((l) => l[2]);
const ack = lat.map((l) => l[1]);
const post = lat.map((l) => l[2] - l[1]);
console.log(`rate ${rate}: total p50 ${pct(tot, 50).toFixed(1)} p99 ${pct(tot, 99).toFixed(1)} max ${pct(tot, 100).toFixed(1)} | ack p50 ${pct(ack, 50).toFixed(1)} p99 ${pct(ack, 99).toFixed(1)} | after-ack p50 ${pct(post, 50).toFixed(1)} p99 ${pct(post, 99).toFixed(1)}`);
// windows of 250 ms with max total latency
const win = new Map<number, number>();
for (const [s, , t] of lat) { const w = Math.floor((s - (start - t0)) / 250); win.set(w, Math.max(win.get(w) ?? 0, t)); }
console.log([...win.entries()].sort((a, b) => a[0] - b[0]).map(([w, m]) => `${w}:${m.toFixed(0)}`).join(' '));
await h.stop();
await redis.stop();
