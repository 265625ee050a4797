/**
 * Where a message's latency goes on the spine: an open-loop sender at RATE msgs/s for SECS seconds
 * (2 shards, loopback far side) prints ingest->ack and ack->far-side percentiles, the worst latency
 * per 250 ms window (periodic stalls show as spikes), the main thread's event-loop delay, the CPU
 * used (this process with its shards, and redis-server) and the Redis commands per message.
 * `RATE=500 SECS=8 npx tsx bench/latency-probe.ts`
 */
import { readdirSync, readFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { connectRedis } from '../src/state/redis.ts';
import { cpuSample, cpuShare } from './lib/cpu.ts';
import { startBenchHub, startBenchRedis, chatMessage } from './lib/env.ts';
import { percentiles } from './lib/stats.ts';

const rate = Number(process.env.RATE ?? 500);
const seconds = Number(process.env.SECS ?? 8);
const chats = Number(process.env.CHATS ?? 200);
const redis = await startBenchRedis();
const admin = connectRedis(redis.url, 'probe-admin');
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
  h.loopback.delivered.length = 0;
});

/** CPU clock ticks (1/100 s) of this process's main thread and of all its other threads (shards, GC, libuv). */
function threadTicks(): { main: number; rest: number } {
  let main = 0;
  let rest = 0;
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const ticks = Number(f[11]) + Number(f[12]);
      if (Number(tid) === process.pid) main += ticks;
      else rest += ticks;
    } catch {
      // the thread ended meanwhile
    }
  }
  return { main, rest };
}

/** Redis calls by command name, from INFO commandstats. */
async function commandCounts(): Promise<Map<string, number>> {
  const info = await admin.info('commandstats');
  const out = new Map<string, number>();
  for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) out.set(m[1] as string, Number(m[2]));
  return out;
}

// warm-up: closed loop, then a pause for the fast path's job removals to settle
for (let i = 0; i < 2000; i += 50) await Promise.all(Array.from({ length: 50 }, (_, k) => h.hub.ingest(chatMessage(`w${i + k}`, i + k, chats))));
await new Promise((r) => setTimeout(r, 1000));
const total = rate * seconds;
const loop = monitorEventLoopDelay({ resolution: 1 });
const cmdsBefore = await commandCounts();
const cpuBefore = cpuSample([redis.pid]);
const redisBefore = cpuSample([]);
const ticksBefore = threadTicks();
loop.enable();
const elu0 = performance.eventLoopUtilization();
const start = performance.now();
let i = 0;
await new Promise<void>((resolve) => {
  const tick = (): void => {
    const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * rate));
    for (; i < due; i++) {
      const id = `m${i}`;
      const env = chatMessage(id, i, chats);
      sent.set(id, performance.now());
      void h.hub.ingest(env).then(() => acked.set(id, performance.now()));
    }
    if (i >= total) resolve();
    else setTimeout(tick, 1);
  };
  tick();
});
while (sent.size > 0) await new Promise((r) => setTimeout(r, 50));
loop.disable();
const elu = performance.eventLoopUtilization(elu0);
const cpu = cpuShare(cpuBefore, cpuSample([redis.pid]));
const self = cpuShare(redisBefore, cpuSample([]));
const cmdsAfter = await commandCounts();
const ticksAfter = threadTicks();
const usPerMsg = (ticks: number): string => ((ticks * 10_000) / total).toFixed(0);

const f = (v: number | undefined): string => (v ?? 0).toFixed(1);
const [t50, t99, tmax] = percentiles(lat.map((l) => l[2]), [50, 99, 100]);
const [a50, a99] = percentiles(lat.map((l) => l[1]), [50, 99]);
const [p50, p99] = percentiles(lat.map((l) => l[2] - l[1]), [50, 99]);
console.log(`rate ${rate}: total p50 ${f(t50)} p99 ${f(t99)} max ${f(tmax)} | ack p50 ${f(a50)} p99 ${f(a99)} | after-ack p50 ${f(p50)} p99 ${f(p99)}`);
console.log(
  `cpu: parley ${self.ownCores.toFixed(2)} cores, redis ${(cpu.ownCores - self.ownCores).toFixed(2)}, others ${cpu.foreignCores.toFixed(2)} | ` +
    `main thread busy ${(elu.utilization * 100).toFixed(0)}% (${((elu.active * 1000) / total).toFixed(0)} us/msg), event-loop delay p50 ${f(loop.percentile(50) / 1e6)} p99 ${f(loop.percentile(99) / 1e6)} max ${f(loop.max / 1e6)} ms`,
);
const perMsg = [...cmdsAfter]
  .map(([name, n]) => [name, (n - (cmdsBefore.get(name) ?? 0)) / total] as const)
  .filter(([name, n]) => n > 0.01 && name !== 'info')
  .sort((a, b) => b[1] - a[1]);
console.log(
  `cpu per message: main thread ${usPerMsg(ticksAfter.main - ticksBefore.main)} us, other threads ${usPerMsg(ticksAfter.rest - ticksBefore.rest)} us ` +
    `(shards, GC helpers), redis ${(((cpu.ownCores - self.ownCores) * ((performance.now() - start) / 1000) * 1e6) / total).toFixed(0)} us`,
);
console.log(`redis calls per message: ${perMsg.reduce((s, [, n]) => s + n, 0).toFixed(2)} (${perMsg.map(([c, n]) => `${c} ${n.toFixed(2)}`).join(', ')})`);
const win = new Map<number, number>();
for (const [s, , t] of lat) {
  const w = Math.floor((s - (start - t0)) / 250);
  win.set(w, Math.max(win.get(w) ?? 0, t));
}
console.log(`worst per 250 ms: ${[...win.entries()].sort((a, b) => a[0] - b[0]).map(([w, m]) => `${w}:${m.toFixed(0)}`).join(' ')}`);
admin.disconnect();
await h.stop();
await redis.stop();
