/**
 * The spine benchmark: Redis and raw BullMQ baselines, then the relay (ingest ->
 * chat actor on a shard -> durable outbox in BullMQ -> dispatcher -> loopback
 * far side) on a real Hub with 1 and 2 shards, its latency at half of peak,
 * and the heap cost of an idle actor. See docs/benchmarks.md.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue, Worker } from 'bullmq';
import type { IngestAck } from '../src/core/connector.ts';
import { connectRedis } from '../src/state/redis.ts';
import { cpuSample, cpuShare, type CpuShare } from './lib/cpu.ts';
import { chatMessage, LOCAL_DOMAIN, machineInfo, startBenchHub, startBenchRedis, type BenchHub, type MachineInfo } from './lib/env.ts';
import { FarSide, type Phase } from './lib/farside.ts';
import { collectGarbage } from './lib/gc.ts';
import { closedLoop, paced } from './lib/load.ts';
import { mb, percentiles, round, sleep } from './lib/stats.ts';
import { printTable } from './lib/table.ts';

const num = (name: string, fallback: number): number => {
  const raw = process.env[name];
  const v = raw === undefined ? Number.NaN : Number(raw);
  return Number.isFinite(v) && v > 0 ? v : fallback;
};

/** Sizes; the SPINE_* environment variables shrink them for a quick trial. */
const P = {
  redisOps: num('SPINE_REDIS_OPS', 200_000),
  redisPipeline: 1_000,
  bullmqMessages: num('SPINE_BULLMQ_N', 20_000),
  bullmqProducerInflight: 256,
  bullmqWorkerConcurrency: 100,
  relayMessages: num('SPINE_RELAY_N', 100_000),
  relayWarmup: num('SPINE_WARMUP_N', 5_000),
  /** Timed runs per throughput figure; the best one counts (noise on a shared machine only ever slows a run down). */
  repeats: num('SPINE_REPEATS', 2),
  relayChats: 200,
  relayIngestInflight: 4_000,
  latencyLoadFraction: 0.5,
  latencySeconds: num('SPINE_LATENCY_S', 5),
  idleActors: num('SPINE_ACTORS', 1_000_000),
  spawnChunk: 100_000,
  stallMs: 30_000,
};

const TARGETS = {
  relay_vs_bullmq_ratio: { op: '>=', value: 3 },
  p99_ms: { op: '<=', value: 20 },
  idle_actor_bytes: { op: '<=', value: 1024 },
} as const;
type TargetName = keyof typeof TARGETS;

const resultsFile = path.join(path.dirname(fileURLToPath(import.meta.url)), 'results', 'spine.json');
let prefixCounter = 0;
const freshPrefix = (what: string): string => `bench${process.pid}x${++prefixCounter}x${what}`;

function progress(msg: string): void {
  process.stderr.write(`[spine ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

/** Process ids besides this one whose CPU counts as the benchmark's own (its redis-server). */
const ownPids: Array<number | undefined> = [];

/** Starts watching CPU use; the returned function tells how much the benchmark and everything else used since. */
function cpuWatch(): () => CpuShare {
  const a = cpuSample(ownPids);
  return () => cpuShare(a, cpuSample(ownPids));
}

interface Throughput {
  perS: number;
  seconds: number;
  cpu: CpuShare;
}

interface Repeated<T extends Throughput> {
  best: T;
  all: T[];
}

const LATENCY_CURVE_RATES = [500, 1000, 2000] as const;

interface LatencyPoint {
  rate: number;
  p50: number;
  p99: number;
  ackP99: number;
}

async function repeated<T extends Throughput>(times: number, once: (i: number) => Promise<T>): Promise<Repeated<T>> {
  const all: T[] = [];
  for (let i = 0; i < times; i++) all.push(await once(i));
  const best = all.reduce((a, b) => (b.perS > a.perS ? b : a));
  return { best, all };
}

// ---------------------------------------------------------------- Redis

async function redisPipelined(url: string): Promise<number> {
  const r = connectRedis(url, 'bench-pipeline');
  try {
    const value = 'v'.repeat(64);
    const runPipelines = async (n: number, tag: string): Promise<void> => {
      for (let base = 0; base < n; base += P.redisPipeline) {
        const p = r.pipeline();
        for (let i = base; i < Math.min(n, base + P.redisPipeline); i++) p.set(`bench:pipe:${tag}:${i}`, value);
        const res = await p.exec();
        const bad = res?.find(([err]) => err);
        if (!res || bad) throw new Error(`redis pipeline failed: ${String(bad?.[0] ?? 'no result')}`);
      }
    };
    await runPipelines(20_000, 'warm');
    const t0 = performance.now();
    await runPipelines(P.redisOps, 'run');
    return P.redisOps / ((performance.now() - t0) / 1000);
  } finally {
    r.disconnect();
  }
}

// ---------------------------------------------------------------- raw BullMQ

/** The naive relay: one queue.add per message, a Worker that does nothing with it. */
async function bullmqOneJobPerMessage(url: string): Promise<Repeated<Throughput>> {
  const prefix = freshPrefix('bull');
  const name = `baseline-${Date.now()}`;
  const producer = connectRedis(url, 'bench-bull-producer');
  const consumer = connectRedis(url, 'bench-bull-worker');
  const queue = new Queue(name, { connection: producer, prefix, defaultJobOptions: { removeOnComplete: true, removeOnFail: true } });
  let completed = 0;
  let target = 0;
  let doneAt = 0;
  let markDone: () => void = () => undefined;
  const worker = new Worker(name, async () => undefined, { connection: consumer, prefix, concurrency: P.bullmqWorkerConcurrency });
  worker.on('completed', () => {
    if (++completed === target) {
      doneAt = performance.now();
      markDone();
    }
  });
  worker.on('error', (err) => progress(`bullmq worker error: ${err.message}`));
  try {
    await worker.waitUntilReady();
    const phase = async (tag: string, n: number): Promise<Throughput> => {
      completed = 0;
      target = n;
      const all = new Promise<void>((r) => (markDone = r));
      const cpu = cpuWatch();
      const t0 = performance.now();
      await closedLoop(n, P.bullmqProducerInflight, (i) => queue.add('im', chatMessage(`${tag}-${i}`, i, P.relayChats)));
      let last = -1;
      let lastChange = performance.now();
      while (completed < n) {
        if (completed !== last) [last, lastChange] = [completed, performance.now()];
        else if (performance.now() - lastChange > P.stallMs) throw new Error(`bullmq baseline: only ${completed} of ${n} jobs completed`);
        await Promise.race([all, sleep(50)]);
      }
      const seconds = (doneAt - t0) / 1000;
      return { perS: n / seconds, seconds, cpu: cpu() };
    };
    await phase('warm', 2_000);
    return await repeated(P.repeats, (i) => phase(`run${i}`, P.bullmqMessages));
  } finally {
    await worker.close();
    await queue.close();
    producer.disconnect();
    consumer.disconnect();
  }
}

// ---------------------------------------------------------------- relay

interface RelayRun extends Throughput {
  /** Rate at which the hub acknowledged ingest calls (durably accepted). */
  ackedPerS: number;
  duplicates: number;
}

/** Pushes `n` messages through the hub with a window of ingest calls in flight and waits for all of them on the far side. */
async function relayRun(h: BenchHub, far: FarSide, tag: string, n: number): Promise<RelayRun> {
  const phase = far.expect(tag, n);
  let rejected = 0;
  let firstRejection: IngestAck | undefined;
  const cpu = cpuWatch();
  const t0 = performance.now();
  await closedLoop(
    n,
    P.relayIngestInflight,
    (i) => h.hub.ingest(chatMessage(`${tag}-${i}`, i, P.relayChats)),
    (ack) => {
      if (ack.outcome !== 'accepted') {
        rejected++;
        firstRejection ??= ack;
      }
    },
  );
  const ackedAt = performance.now();
  if (rejected > 0) throw new Error(`relay: ${rejected} of ${n} ingest calls were not accepted, first: ${JSON.stringify(firstRejection)}`);
  const doneAt = await phase.done(P.stallMs);
  const share = cpu();
  h.loopback.delivered.length = 0;
  const seconds = (doneAt - t0) / 1000;
  return { perS: n / seconds, ackedPerS: n / ((ackedAt - t0) / 1000), seconds, cpu: share, duplicates: phase.duplicates };
}

interface LatencyRun {
  offeredPerS: number;
  achievedPerS: number;
  messages: number;
  p50: number;
  p99: number;
  max: number;
  ackP50: number;
  ackP99: number;
  cpu: CpuShare;
  seconds: number;
}

/** Open-loop: offers `rate` msgs/s for a few seconds and measures ingest -> far side per message. */
async function latencyRun(h: BenchHub, far: FarSide, rate: number, tag = 'lat'): Promise<LatencyRun> {
  const durationMs = P.latencySeconds * 1000;
  const total = Math.floor((rate * durationMs) / 1000);
  const phase: Phase = far.expect(tag, total);
  const ackLatencies: number[] = [];
  let rejected = 0;
  let failure: unknown;
  const cpu = cpuWatch();
  const t0 = performance.now();
  await paced(rate, total, (i, dueAt) => {
    const id = `${tag}-${i}`;
    const env = chatMessage(id, i, P.relayChats);
    const started = dueAt;
    phase.started(id, started);
    h.hub.ingest(env).then(
      (ack) => {
        ackLatencies.push(performance.now() - started);
        if (ack.outcome !== 'accepted') rejected++;
      },
      (err: unknown) => (failure ??= err),
    );
  });
  const sentAt = performance.now();
  const doneAt = await phase.done(P.stallMs);
  const share = cpu();
  if (failure) throw failure instanceof Error ? failure : new Error(String(failure));
  if (rejected > 0) throw new Error(`latency run: ${rejected} of ${total} ingest calls were not accepted`);
  h.loopback.delivered.length = 0;
  const [p50, p99, max] = percentiles(phase.latencies, [50, 99, 100]) as [number, number, number];
  const [ackP50, ackP99] = percentiles(ackLatencies, [50, 99]) as [number, number];
  const seconds = (doneAt - t0) / 1000;
  return { offeredPerS: total / ((sentAt - t0) / 1000), achievedPerS: total / seconds, messages: total, p50, p99, max, ackP50, ackP99, cpu: share, seconds };
}

async function withHub<T>(url: string, shards: number, what: string, body: (h: BenchHub, far: FarSide) => Promise<T>): Promise<T> {
  // SPINE_BENCH_WINDOWS=send,commit (ms) overrides runtime.sendWindowMs / commitWindowMs, for A/B runs.
  const [sendWindowMs, commitWindowMs] = (process.env.SPINE_BENCH_WINDOWS ?? '').split(',').map((v) => (v === '' ? undefined : Number(v)));
  const h = await startBenchHub(url, freshPrefix(what), { runtime: { shards, sendWindowMs, commitWindowMs } });
  const far = new FarSide(h.loopback);
  try {
    return await body(h, far);
  } finally {
    far.close();
    await h.stop();
  }
}

// ---------------------------------------------------------------- idle actors

interface IdleActors {
  bytesPerActor: number;
  heapMbBaseline: number;
  heapMbResident: number;
  heapMbAfterPassivation: number;
  rssMbBaseline: number;
  rssMbResident: number;
  rssMbAfterPassivation: number;
  passivationMs: number;
  spawnMs: number;
}

/** Half user-session actors, half 1:1 chat actors, keyed the way the router keys them. */
function actorKeys(from: number, to: number): string[] {
  const keys: string[] = [];
  for (let i = from; i < to; i++) {
    if (i % 2 === 0) keys.push(`user:teams:u${i}@${LOCAL_DOMAIN}`);
    else {
      const a = `teams:u${i}@${LOCAL_DOMAIN}`;
      keys.push(`chat:p:${a.length}:${a}|xmpp:ext${i}@partner.example`);
    }
  }
  return keys;
}

async function idleActors(url: string): Promise<IdleActors> {
  return withHub(url, 2, 'idle', async (h) => {
    const heap = async (): Promise<{ heap: number; resident: number }> => {
      const stats = await h.hub.shards.stats(true);
      return { heap: stats.reduce((s, x) => s + x.heapUsed, 0), resident: stats.reduce((s, x) => s + x.resident, 0) };
    };
    const rss = (): number => {
      collectGarbage();
      return process.memoryUsage().rss;
    };
    const before = await heap();
    const rssBaseline = rss();
    const s0 = performance.now();
    for (let i = 0; i < P.idleActors; i += P.spawnChunk) await h.hub.shards.spawnActors(actorKeys(i, Math.min(P.idleActors, i + P.spawnChunk)));
    const spawnMs = performance.now() - s0;
    const resident = await heap();
    const rssResident = rss();
    if (resident.resident - before.resident !== P.idleActors) {
      throw new Error(`idle actors: expected ${P.idleActors} resident actors, the shards report ${resident.resident - before.resident}`);
    }
    const t0 = performance.now();
    const passivated = await h.hub.shards.passivate(true);
    const passivationMs = performance.now() - t0;
    const after = await heap();
    const rssAfter = rss();
    if (passivated < P.idleActors) throw new Error(`idle actors: passivate(true) passivated ${passivated} of ${P.idleActors}`);
    return {
      bytesPerActor: (resident.heap - before.heap) / P.idleActors,
      heapMbBaseline: mb(before.heap),
      heapMbResident: mb(resident.heap),
      heapMbAfterPassivation: mb(after.heap),
      rssMbBaseline: mb(rssBaseline),
      rssMbResident: mb(rssResident),
      rssMbAfterPassivation: mb(rssAfter),
      passivationMs,
      spawnMs,
    };
  });
}

// ---------------------------------------------------------------- report

interface Row {
  metric: string;
  value: number;
  unit: string;
  target?: TargetName;
}

function check(name: TargetName, value: number): boolean {
  const t = TARGETS[name];
  return t.op === '>=' ? value >= t.value : value <= t.value;
}

function report(machine: MachineInfo, rows: Row[], extra: Record<string, unknown>): boolean {
  const results: Record<string, number> = {};
  for (const r of rows) results[r.metric] = r.value;
  const targets: Record<string, { value: number; target: string; pass: boolean }> = {};
  let allPass = true;
  for (const r of rows) {
    if (!r.target) continue;
    const pass = check(r.target, r.value);
    allPass &&= pass;
    targets[r.target] = { value: r.value, target: `${TARGETS[r.target].op} ${TARGETS[r.target].value}`, pass };
  }
  console.log('');
  console.log(`spine benchmark  ${machine.date}  node ${machine.node}  redis ${machine.redis}  ${machine.cpus} cpus (${machine.cpuModel})  load ${machine.loadAvg.join(' ')}`);
  console.log('');
  printTable(
    ['metric', 'value', 'unit', 'target', 'status'],
    rows.map((r) => [
      r.metric,
      r.value,
      r.unit,
      r.target ? `${TARGETS[r.target].op} ${TARGETS[r.target].value}` : '',
      r.target ? (check(r.target, r.value) ? 'PASS' : 'FAIL') : '',
    ]),
  );
  console.log('');
  if (typeof extra.warning === 'string') console.log(`WARNING: ${extra.warning}`);
  const failed = Object.entries(targets).filter(([, t]) => !t.pass);
  if (failed.length === 0) console.log('spine: all targets met');
  else console.log(`spine: TARGETS MISSED: ${failed.map(([k, t]) => `${k} = ${t.value} (target ${t.target})`).join('; ')}`);
  mkdirSync(path.dirname(resultsFile), { recursive: true });
  writeFileSync(resultsFile, `${JSON.stringify({ benchmark: 'spine', machine, params: P, results, targets, extra }, null, 2)}\n`);
  console.log(`results written to ${path.relative(process.cwd(), resultsFile)}`);
  return allPass;
}

const FOREIGN_CPU_WARNING = 0.25;

/** CPU microseconds the benchmark spent per message (this process, its shard workers and redis-server). */
const cpuUsPerMsg = (t: Throughput, n: number): number => round((t.cpu.ownCores * t.seconds * 1e6) / n, 1);

export async function run(): Promise<void> {
  const machine = machineInfo();
  progress(`starting redis-server (AOF everysec)`);
  const redis = await startBenchRedis();
  ownPids.push(redis.pid);
  const rows: Row[] = [];
  const extra: Record<string, unknown> = {};
  try {
    progress(`redis: ${P.redisOps} SETs in pipelines of ${P.redisPipeline}`);
    const redisOps = await redisPipelined(redis.url);

    progress(`bullmq baseline: ${P.bullmqMessages} x queue.add (${P.bullmqProducerInflight} in flight), Worker concurrency ${P.bullmqWorkerConcurrency}`);
    const bullRuns = await bullmqOneJobPerMessage(redis.url);
    const bull = bullRuns.best;
    extra.bullmq_runs_msgs_per_s = bullRuns.all.map((r) => round(r.perS));

    progress(`relay, 2 shards: warm-up ${P.relayWarmup}, then ${P.relayMessages} messages over ${P.relayChats} chats (${P.relayIngestInflight} ingest calls in flight)`);
    const { relay2, latency, curve } = await withHub(redis.url, 2, 'relay2', async (h, far) => {
      await relayRun(h, far, 'warm', P.relayWarmup);
      const runs = await repeated(P.repeats, (i) => relayRun(h, far, `run${i}`, P.relayMessages));
      const relay2 = { ...runs.best, duplicates: runs.all.reduce((n, r) => n + r.duplicates, 0) };
      extra.relay_2_shards_runs_msgs_per_s = runs.all.map((r) => round(r.perS));
      progress(`relay, 2 shards: ${runs.all.map((r) => round(r.perS)).join(', ')} msgs/s; latency at ${P.latencyLoadFraction} x that for ${P.latencySeconds} s`);
      await sleep(500);
      const latency = await latencyRun(h, far, P.latencyLoadFraction * relay2.perS);
      // The same latency at fixed, lighter paced loads: where the tail comes from.
      const curve: LatencyPoint[] = [];
      for (const rate of LATENCY_CURVE_RATES) {
        progress(`latency at ${rate} msgs/s for ${P.latencySeconds} s`);
        const l = await latencyRun(h, far, rate, `lat${rate}`);
        curve.push({ rate, p50: l.p50, p99: l.p99, ackP99: l.ackP99 });
      }
      extra.relay_2_shards_strays = far.strays;
      return { relay2, latency, curve };
    });

    progress(`relay, 1 shard: warm-up ${P.relayWarmup}, then ${P.relayMessages} messages`);
    const relay1 = await withHub(redis.url, 1, 'relay1', async (h, far) => {
      await relayRun(h, far, 'warm', P.relayWarmup);
      const runs = await repeated(P.repeats, (i) => relayRun(h, far, `run${i}`, P.relayMessages));
      extra.relay_1_shard_runs_msgs_per_s = runs.all.map((r) => round(r.perS));
      extra.relay_1_shard_strays = far.strays;
      return { ...runs.best, duplicates: runs.all.reduce((n, r) => n + r.duplicates, 0) };
    });

    progress(`idle actors: spawning ${P.idleActors} on 2 shards`);
    const idle = await idleActors(redis.url);

    const foreign = {
      bullmq: round(bull.cpu.foreignCores, 2),
      relay_2_shards: round(relay2.cpu.foreignCores, 2),
      latency: round(latency.cpu.foreignCores, 2),
      relay_1_shard: round(relay1.cpu.foreignCores, 2),
    };
    const foreignMax = Math.max(...Object.values(foreign));
    rows.push(
      { metric: 'redis_pipelined_ops_per_s', value: round(redisOps), unit: 'ops/s' },
      { metric: 'bullmq_one_job_per_msg_msgs_per_s', value: round(bull.perS), unit: 'msgs/s' },
      { metric: 'relay_msgs_per_s', value: round(relay2.perS), unit: 'msgs/s' },
      { metric: 'relay_msgs_per_s_1_shard', value: round(relay1.perS), unit: 'msgs/s' },
      { metric: 'relay_vs_bullmq_ratio', value: round(relay2.perS / bull.perS, 2), unit: 'x', target: 'relay_vs_bullmq_ratio' },
      { metric: 'relay_acked_msgs_per_s', value: round(relay2.ackedPerS), unit: 'msgs/s' },
      { metric: 'relay_acked_msgs_per_s_1_shard', value: round(relay1.ackedPerS), unit: 'msgs/s' },
      { metric: 'bullmq_cpu_us_per_msg', value: cpuUsPerMsg(bull, P.bullmqMessages), unit: 'us' },
      { metric: 'relay_cpu_us_per_msg', value: cpuUsPerMsg(relay2, P.relayMessages), unit: 'us' },
      { metric: 'relay_cpu_us_per_msg_1_shard', value: cpuUsPerMsg(relay1, P.relayMessages), unit: 'us' },
      // CPU per message does not depend on what else the machine runs: the ratio to read when the warning below shows.
      { metric: 'bullmq_vs_relay_cpu_per_msg_ratio', value: round(cpuUsPerMsg(bull, P.bullmqMessages) / cpuUsPerMsg(relay2, P.relayMessages), 2), unit: 'x' },
      { metric: 'relay_duplicates', value: relay2.duplicates + relay1.duplicates, unit: 'msgs' },
      { metric: 'latency_offered_msgs_per_s', value: round(latency.offeredPerS), unit: 'msgs/s' },
      { metric: 'p50_ms', value: round(latency.p50, 2), unit: 'ms' },
      { metric: 'p99_ms', value: round(latency.p99, 2), unit: 'ms', target: 'p99_ms' },
      { metric: 'max_ms', value: round(latency.max, 2), unit: 'ms' },
      { metric: 'ack_p50_ms', value: round(latency.ackP50, 2), unit: 'ms' },
      { metric: 'ack_p99_ms', value: round(latency.ackP99, 2), unit: 'ms' },
      // At this rate batches are small: per message it costs more than at peak.
      { metric: 'latency_cpu_us_per_msg', value: round((latency.cpu.ownCores * latency.seconds * 1e6) / latency.messages, 1), unit: 'us' },
      ...curve.flatMap((c) => [
        { metric: `p50_ms_at_${c.rate}_msgs_per_s`, value: round(c.p50, 2), unit: 'ms' },
        { metric: `p99_ms_at_${c.rate}_msgs_per_s`, value: round(c.p99, 2), unit: 'ms' },
      ]),
      { metric: 'idle_actor_bytes', value: round(idle.bytesPerActor), unit: 'B/actor', target: 'idle_actor_bytes' },
      { metric: 'idle_actor_heap_mb_baseline', value: idle.heapMbBaseline, unit: 'MB' },
      { metric: 'idle_actor_heap_mb_resident', value: idle.heapMbResident, unit: 'MB' },
      { metric: 'idle_actor_heap_mb_after_passivation', value: idle.heapMbAfterPassivation, unit: 'MB' },
      { metric: 'process_rss_mb_baseline', value: idle.rssMbBaseline, unit: 'MB' },
      { metric: 'process_rss_mb_resident', value: idle.rssMbResident, unit: 'MB' },
      { metric: 'process_rss_mb_after_passivation', value: idle.rssMbAfterPassivation, unit: 'MB' },
      { metric: 'spawn_ms', value: round(idle.spawnMs), unit: 'ms' },
      { metric: 'passivation_ms', value: round(idle.passivationMs), unit: 'ms' },
      { metric: 'foreign_cpu_cores_max', value: foreignMax, unit: 'cores' },
    );
    extra.foreign_cpu_cores = foreign;
    extra.own_cpu_cores = {
      bullmq: round(bull.cpu.ownCores, 2),
      relay_2_shards: round(relay2.cpu.ownCores, 2),
      latency: round(latency.cpu.ownCores, 2),
      relay_1_shard: round(relay1.cpu.ownCores, 2),
    };
    extra.bullmq_seconds = round(bull.seconds, 2);
    extra.relay_2_shards_seconds = round(relay2.seconds, 2);
    extra.relay_1_shard_seconds = round(relay1.seconds, 2);
    extra.latency_messages = latency.messages;
    extra.latency_achieved_msgs_per_s = round(latency.achievedPerS);
    const noisy = Object.entries(foreign).filter(([, v]) => v > FOREIGN_CPU_WARNING);
    if (noisy.length > 0) {
      extra.warning = `other processes used ${noisy.map(([k, v]) => `${v} cores during ${k}`).join(', ')}: those figures are depressed by noise`;
    }
  } finally {
    progress('stopping redis-server');
    await redis.stop();
  }
  report(machine, rows, extra);
}
