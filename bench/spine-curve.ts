/**
 * The spine's cost per message across load: one hub (2 shards unless SHARDS; loopback far
 * side), a closed-loop "peak" phase and paced phases at fixed rates, each
 * printing the latency (from each message's due time), CPU per message split
 * by thread (main, the two busiest other threads: the shards, the rest: V8's
 * GC and compiler threads) and redis-server, context switches, and Redis
 * script calls and main -> shard posts per message.
 *
 *   RATES=peak,2000,7000 SECS=5 SHARDS=2 npx tsx bench/spine-curve.ts
 *
 * With `node --cpu-prof --import tsx bench/spine-curve.ts > phases.txt`, the
 * PHASE lines (monotonic µs, the profile's clock) let
 * `npx tsx bench/tools/phase-profile.ts <profile> phases.txt` compare each
 * function's CPU per message between phases.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { connectRedis } from '../src/state/redis.ts';
import { chatMessage, startBenchHub, startBenchRedis } from './lib/env.ts';
import { percentiles } from './lib/stats.ts';

const rates = (process.env.RATES ?? 'peak,1000,2000,5000,7000').split(',');
const seconds = Number(process.env.SECS ?? 5);
const CHATS = 200;
const PEAK_N = 60_000;
const PEAK_INFLIGHT = 4_000;

let posts = 0;
const postMessage = Worker.prototype.postMessage;
Worker.prototype.postMessage = function (this: Worker, ...args: Parameters<Worker['postMessage']>) {
  posts++;
  return postMessage.apply(this, args);
};

interface ThreadSample {
  ticks: number;
  switches: number;
}
function threads(): Map<number, ThreadSample> {
  const out = new Map<number, ThreadSample>();
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const status = readFileSync(`/proc/self/task/${tid}/status`, 'utf8');
      const sw = (name: string): number => Number(status.match(new RegExp(`^${name}:\\s+(\\d+)`, 'm'))?.[1] ?? 0);
      out.set(Number(tid), { ticks: Number(f[11]) + Number(f[12]), switches: sw('voluntary_ctxt_switches') + sw('nonvoluntary_ctxt_switches') });
    } catch {
      // the thread ended meanwhile
    }
  }
  return out;
}
function processTicks(pid: number | undefined): number {
  if (pid === undefined) return 0;
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]);
}

const redis = await startBenchRedis();
const admin = connectRedis(redis.url, 'curve-admin');
const h = await startBenchHub(redis.url, `curve${process.pid}`, { runtime: { shards: Number(process.env.SHARDS ?? 2) } });
const dueAt = new Map<string, number>();
const latencies: number[] = [];
let delivered = 0;
h.loopback.onDelivered((list) => {
  const now = performance.now();
  for (const d of list) {
    const due = dueAt.get(d.env.id);
    if (due === undefined) continue;
    dueAt.delete(d.env.id);
    latencies.push(now - due);
  }
  delivered += list.length;
  h.loopback.delivered.length = 0;
});
async function scriptCalls(): Promise<number> {
  const info = await admin.info('commandstats');
  return Number(info.match(/cmdstat_evalsha:calls=(\d+)/)?.[1] ?? 0);
}

let seq = 0;
function closedLoop(n: number): Promise<void> {
  const last = seq + n;
  let inflight = 0;
  return new Promise((resolve) => {
    const launch = (): void => {
      while (inflight < PEAK_INFLIGHT && seq < last) {
        inflight++;
        void h.hub.ingest(chatMessage(`m${seq}`, seq++, CHATS)).then(() => {
          inflight--;
          if (seq < last) launch();
          else if (inflight === 0) resolve();
        });
      }
    };
    launch();
  });
}
function paced(rate: number, n: number): Promise<void> {
  const start = performance.now();
  let i = 0;
  return new Promise((resolve) => {
    const tick = (): void => {
      const due = Math.min(n, Math.floor(((performance.now() - start) / 1000) * rate));
      for (; i < due; i++) {
        const id = `m${seq}`;
        dueAt.set(id, start + ((i + 1) * 1000) / rate);
        void h.hub.ingest(chatMessage(id, seq++, CHATS));
      }
      if (i >= n) resolve();
      else setTimeout(tick, 1);
    };
    tick();
  });
}

await closedLoop(30_000);
while (delivered < 30_000) await new Promise((r) => setTimeout(r, 10));
console.log('phase   msgs/s   p50 ms   p99 ms | CPU us/msg: main shards other redis total | switches/msg | scripts/msg posts/msg');
for (const phase of rates) {
  await new Promise((r) => setTimeout(r, 500));
  const n = phase === 'peak' ? PEAK_N : Math.round(Number(phase) * seconds);
  latencies.length = 0;
  const before = { threads: threads(), redis: processTicks(redis.pid), scripts: await scriptCalls(), posts, delivered };
  console.log(`PHASE ${phase} start ${process.hrtime.bigint() / 1000n}`);
  const t0 = performance.now();
  await (phase === 'peak' ? closedLoop(n) : paced(Number(phase), n));
  while (delivered - before.delivered < n) await new Promise((r) => setTimeout(r, 5));
  const secs = (performance.now() - t0) / 1000;
  console.log(`PHASE ${phase} end ${process.hrtime.bigint() / 1000n} n ${n}`);
  const after = threads();
  const deltas = [...after].map(([tid, s]) => [tid, s.ticks - (before.threads.get(tid)?.ticks ?? 0), s.switches - (before.threads.get(tid)?.switches ?? 0)] as const);
  const main = deltas.find(([tid]) => tid === process.pid);
  const others = deltas.filter(([tid]) => tid !== process.pid).sort((a, b) => b[1] - a[1]);
  const us = (ticks: number): string => ((ticks * 10_000) / n).toFixed(0).padStart(5);
  const shards = (others[0]?.[1] ?? 0) + (others[1]?.[1] ?? 0);
  const rest = others.slice(2).reduce((s, [, t]) => s + t, 0);
  const redisTicks = processTicks(redis.pid) - before.redis;
  const switches = deltas.reduce((s, [, , c]) => s + c, 0);
  const scripts = (await scriptCalls()) - before.scripts;
  const [p50 = 0, p99 = 0] = phase === 'peak' ? [] : percentiles(latencies, [50, 99]);
  console.log(
    `${phase.padStart(5)} ${(n / secs).toFixed(0).padStart(8)} ${p50.toFixed(1).padStart(8)} ${p99.toFixed(1).padStart(8)} |` +
      `${us(main?.[1] ?? 0)} ${us(shards)} ${us(rest)} ${us(redisTicks)} ${us((main?.[1] ?? 0) + shards + rest + redisTicks)} |` +
      ` ${(switches / n).toFixed(2).padStart(6)} | ${(scripts / n).toFixed(3)} ${((posts - before.posts) / n).toFixed(3)}`,
  );
}
admin.disconnect();
await h.stop();
await redis.stop();
