/**
 * XMPP benchmark: Parley as a component of a real Prosody, against Prosody's
 * own ceiling measured in the same run (one @xmpp/client to another). XMPP
 * peers run in worker threads of their own. Writes bench/results/xmpp.json.
 *
 * Knobs: XMPP_BENCH_N (messages per throughput run, default 30,000),
 * XMPP_BENCH_RATE (paced rate for the latency runs, default 1,000/s),
 * XMPP_BENCH_SECONDS (length of a latency run, default 10).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { pino } from 'pino';
import { MemorySink } from '../analytics/sink.ts';
import { parseConfig } from '../src/config/load.ts';
import { LoopbackConnector, type LoopbackDelivery } from '../src/connectors/loopback/loopback.ts';
import { XmppConnector } from '../src/connectors/xmpp/connector.ts';
import { ChatStateMemory } from '../src/connectors/xmpp/chat-states.ts';
import { ComponentLink } from '../src/connectors/xmpp/link.ts';
import { toFragment } from '../src/connectors/xmpp/outbound.ts';
import type { Envelope } from '../src/core/envelope.ts';
import { Hub } from '../src/runtime/hub.ts';
import { ManagedRedis } from '../src/state/managed-redis.ts';
import { connectRedis } from '../src/state/redis.ts';
import { PROSODY_PASSWORD, startProsody, type TestProsody } from '../test/support/prosody.ts';
import { cpuSample, cpuShare, type CpuSample } from './lib/cpu.ts';
import { percentiles, round } from './lib/stats.ts';
import { printTable } from './lib/table.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const resultsFile = path.join(here, 'results', 'xmpp.json');
const N = Number(process.env.XMPP_BENCH_N ?? 30_000);
const RATE = Number(process.env.XMPP_BENCH_RATE ?? 1_000);
const SECONDS = Number(process.env.XMPP_BENCH_SECONDS ?? 10);
/** Comma-separated subset of direct,component,in,out,latency (profiling one direction); default all. */
/**
 * Diagnostic, off by default: a nice value for Prosody (e.g. -10), so that it gets its core whenever it
 * can run, as on a machine of its own; it shows how much of a gap is the two sharing 2 cores.
 */
/** Prosody in a session (so a scheduling autogroup) of its own, as a daemon runs; XMPP_BENCH_PROSODY_SESSION=shared puts it in the bench's. */
const PROSODY_OWN_SESSION = process.env.XMPP_BENCH_PROSODY_SESSION !== 'shared';
const PROSODY_NICE = process.env.XMPP_BENCH_PROSODY_NICE ? Number(process.env.XMPP_BENCH_PROSODY_NICE) : undefined;
const PHASES = new Set((process.env.XMPP_BENCH_PHASES ?? 'direct,component,in,out,latency').split(','));
const now = (): number => performance.timeOrigin + performance.now();

type PeerMsg =
  | { kind: 'ready' }
  | { kind: 'done'; times: Float64Array; firstAt: number; lastAt: number; cpuSeconds: number }
  | { kind: 'sent'; times: Float64Array; startedAt: number; endedAt: number; cpuSeconds: number }
  | { kind: 'error'; message: string };

class Peer {
  private readonly worker: Worker;
  private readonly waiters = new Map<string, (m: PeerMsg) => void>();
  private readonly early = new Map<string, PeerMsg>();

  constructor(prosody: TestProsody, username: string, mode: 'send' | 'receive', opts: { to?: string; count: number; ratePerSec?: number; idPrefix: string }) {
    this.worker = new Worker(path.join(here, 'lib', 'xmpp-peer.mjs'), {
      workerData: {
        service: `xmpp://127.0.0.1:${prosody.c2sPort}`, domain: 'partner.example', username, password: PROSODY_PASSWORD,
        mode, to: opts.to ?? '', count: opts.count, ratePerSec: opts.ratePerSec ?? 0, idPrefix: opts.idPrefix, chunk: 200,
      },
    });
    this.worker.on('message', (m: PeerMsg) => {
      const w = this.waiters.get(m.kind);
      if (w) {
        this.waiters.delete(m.kind);
        w(m);
      } else this.early.set(m.kind, m);
    });
  }

  next<K extends PeerMsg['kind']>(kind: K, timeoutMs = 120_000): Promise<Extract<PeerMsg, { kind: K }>> {
    const early = this.early.get(kind);
    if (early) {
      this.early.delete(kind);
      return Promise.resolve(early as Extract<PeerMsg, { kind: K }>);
    }
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`xmpp peer: no ${kind} within ${timeoutMs} ms`)), timeoutMs);
      this.waiters.set(kind, (m) => (clearTimeout(t), resolve(m as Extract<PeerMsg, { kind: K }>)));
    });
  }

  go(): void {
    this.worker.postMessage('go');
  }

  async stop(): Promise<void> {
    this.worker.postMessage('stop');
    await Promise.race([new Promise((r) => this.worker.once('exit', r)), new Promise((r) => setTimeout(r, 3000))]);
    await this.worker.terminate();
  }
}

interface Stack {
  hub: Hub;
  loopback: LoopbackConnector;
  xmpp: XmppConnector;
  stop(): Promise<void>;
}

async function startStack(redisUrl: string, prosody: TestProsody): Promise<Stack> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'parley-bench-xmpp-'));
  const config = parseConfig({ dataDir, logLevel: 'silent', redis: { url: redisUrl, keyPrefix: `bx${Date.now()}` }, federation: { localDomains: ['parley.local'] } });
  const loopback = new LoopbackConnector({ platforms: ['teams'], sink: 'memory', stream: '', http: false });
  const xmpp = new XmppConnector({
    // The per-domain rate limit is not what is measured here: one sender at full speed would trip it.
    config: {
      ...config.connectors.xmpp, enabled: true, service: `xmpp://127.0.0.1:${prosody.componentPort}`, domain: 'parley.local',
      secret: prosody.components['parley.local'] ?? '', barrierDomain: 'partner.example', messagesPerSecondPerDomain: 1_000_000, burstPerDomain: 1_000_000,
    },
    redis: connectRedis(redisUrl, 'bench-xmpp'),
    keyPrefix: config.redis.keyPrefix,
    log: pino({ level: 'silent' }),
  });
  const hub = await Hub.start({ config, redisUrl, connectors: [loopback, xmpp], sink: new MemorySink(100_000), log: pino({ level: 'silent' }), addRoute: () => undefined });
  await xmpp.waitOnline(15_000);
  return {
    hub, loopback, xmpp,
    async stop() {
      await hub.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Teams-side arrival times of messages `<prefix><i>` from XMPP. */
function teamsArrivals(loopback: LoopbackConnector, prefix: string, count: number, timeoutMs = 180_000): { times: Float64Array; done: Promise<void> } {
  const times = new Float64Array(count);
  let got = 0;
  let resolve: () => void = () => undefined;
  const done = new Promise<void>((r, reject) => {
    const t = setTimeout(() => reject(new Error(`only ${got} of ${count} messages reached the Teams side`)), timeoutMs);
    resolve = () => (clearTimeout(t), r());
  });
  const off = loopback.onDelivered((list: readonly LoopbackDelivery[]) => {
    const t = now();
    for (const d of list) {
      const at = d.env.id.indexOf(prefix);
      if (at < 0) continue;
      const i = Number(d.env.id.slice(at + prefix.length));
      if (i >= 0 && i < count && times[i] === 0) {
        times[i] = t;
        if (++got === count) {
          off();
          resolve();
        }
      }
    }
  });
  loopback.delivered.length = 0;
  return { times, done };
}

const alice = { platform: 'teams' as const, id: 'alice@parley.local', domain: 'parley.local' };
const bob = { platform: 'xmpp' as const, id: 'recv@partner.example', domain: 'partner.example' };

const CHATS = Number(process.env.XMPP_BENCH_CHATS ?? 16);
const teamsUser = (i: number, chats: number) => (chats <= 1 ? alice : { platform: 'teams' as const, id: `u${i % chats}@parley.local`, domain: 'parley.local' });

function hubMessage(prefix: string, i: number, chats = 1): Envelope {
  return { type: 'im', id: `${prefix}${i}`, ts: Date.now(), from: teamsUser(i, chats), to: bob, body: { blocks: [{ t: 'p', c: [{ t: 'text', v: 'benchmark message: the quick brown fox jumps over the lazy dog, 0123456789' }] }] } };
}

/** Sends from the hub (the Teams side) in batches, paced or flat out; returns send times. */
async function sendFromHub(hub: Hub, prefix: string, count: number, ratePerSec: number, chats = 1): Promise<Float64Array> {
  const sent = new Float64Array(count);
  const started = now();
  const batch = ratePerSec > 0 ? Math.max(1, Math.round(ratePerSec / 200)) : 500;
  const inflight: Array<Promise<unknown>> = [];
  for (let i = 0; i < count; i += batch) {
    if (ratePerSec > 0) {
      const wait = started + (i * 1000) / ratePerSec - now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    }
    const envs: Envelope[] = [];
    const t = now();
    for (let k = i; k < Math.min(count, i + batch); k++) {
      envs.push(hubMessage(prefix, k, chats));
      sent[k] = t;
    }
    inflight.push(hub.ingestMany(envs));
    if (inflight.length >= 8) await inflight.shift();
  }
  await Promise.all(inflight);
  return sent;
}

/** Parley-shaped chat messages from a bare component stream to one client, flat out: Prosody's component-path ceiling. */
async function componentCeiling(prosody: TestProsody): Promise<Array<[string, number, string]>> {
  const link = new ComponentLink({
    service: `xmpp://127.0.0.1:${prosody.componentPort}`, domain: 'raw.local', secret: prosody.components['raw.local'] ?? '', barrierDomain: 'partner.example',
    maxPendingBytes: 4 << 20, reconnectMinMs: 250, reconnectMaxMs: 1000, connectTimeoutMs: 60_000, log: pino({ level: 'silent' }), onStanza: () => undefined,
  });
  await link.start();
  try {
    await link.waitOnline(15_000);
    const prefix = 'c-';
    const recv = new Peer(prosody, 'recv', 'receive', { count: N, idPrefix: prefix });
    await recv.next('ready');
    const started = now();
    const writes: Array<Promise<void>> = [];
    const states = new ChatStateMemory(1000);
    for (let i = 0; i < N; i += 500) {
      let fragment = '';
      for (let k = i; k < Math.min(N, i + 500); k++) {
        const env = hubMessage(prefix, k, CHATS);
        const from = { ...env.from, id: env.from.id.replace('@parley.local', '@raw.local'), domain: 'raw.local' };
        fragment += toFragment({ ...env, from }, { active: states.announceActive(from.id, env.to.id) });
      }
      writes.push(link.write(fragment));
      if (writes.length >= 16) await writes.shift();
    }
    await Promise.all(writes);
    const r = await recv.next('done');
    await recv.stop();
    return [['component_ceiling_msgs_per_s', round(N / ((r.lastAt - started) / 1000)), 'bare component stream -> Prosody -> client, the stanzas Parley sends']];
  } finally {
    await link.stop();
  }
}

/** Cores used over a phase: this process (hub, shards, peers) with its redis-server; Prosody; the whole machine. */
function cpuMeter(redisPid: number | undefined, prosodyPid: number | undefined): (label: string) => Array<[string, number, string]> {
  const take = (): [CpuSample, CpuSample, CpuSample] => [cpuSample([redisPid]), cpuSample([prosodyPid]), cpuSample([])];
  const a = take();
  return (label) => {
    const b = take();
    const parley = cpuShare(a[0], b[0]);
    const prosody = cpuShare(a[1], b[1]).ownCores - cpuShare(a[2], b[2]).ownCores;
    return [
      [`${label}_cores_parley`, round(parley.ownCores, 2), 'CPU: Parley (+ bench peers) and its redis-server'],
      [`${label}_cores_prosody`, round(prosody, 2), 'CPU: Prosody'],
      [`${label}_cores_machine`, round(parley.ownCores + parley.foreignCores, 2), 'CPU: whole machine (2 cores)'],
    ];
  };
}

const latency = (sent: Float64Array, got: Float64Array): number[] => {
  const d: number[] = [];
  for (let i = 0; i < sent.length; i++) if (got[i] && sent[i]) d.push((got[i] as number) - (sent[i] as number));
  return d;
};

export async function run(): Promise<void> {
  // The machine is shared: the load around the run says how much the figures can be trusted.
  const loadBefore = round(os.loadavg()[0] ?? NaN, 2);
  const redis = await ManagedRedis.temporary();
  const prosody = await startProsody({ hosts: { 'partner.example': ['send', 'recv'] }, components: { 'parley.local': 'bench-secret-123', 'raw.local': 'bench-secret-raw' }, ownSession: PROSODY_OWN_SESSION });
  if (PROSODY_NICE !== undefined && prosody.pid) os.setPriority(prosody.pid, PROSODY_NICE);
  const stack = await startStack(redis.url, prosody);
  const rows: Array<[string, number, string]> = [];
  try {
    // 1. Prosody's own ceiling: one client to another (again at the end; the better run counts).
    // CPU per message (µs) moves far less with the machine's load than a rate does: it shows what each side costs.
    const directCpu: Array<{ prosody: number; receiver: number }> = [];
    const direct = async (prefix: string): Promise<number> => {
      const recv = new Peer(prosody, 'recv', 'receive', { count: N, idPrefix: prefix });
      const send = new Peer(prosody, 'send', 'send', { to: 'recv@partner.example', count: N, idPrefix: prefix });
      await Promise.all([recv.next('ready'), send.next('ready')]);
      const cpu = cpuMeter(redis.pid, prosody.pid);
      send.go();
      const [s, r] = await Promise.all([send.next('sent'), recv.next('done')]);
      const elapsed = (r.lastAt - s.startedAt) / 1000;
      const prosodyCores = cpu('direct').find(([k]) => k.endsWith('_cores_prosody'))?.[1] ?? NaN;
      directCpu.push({ prosody: (prosodyCores * elapsed * 1e6) / N, receiver: (r.cpuSeconds * 1e6) / N });
      await Promise.all([recv.stop(), send.stop()]);
      return round(N / elapsed);
    };
    const directRuns: number[] = [];
    if (PHASES.has('direct')) directRuns.push(await direct('d1-'));
    // 1b. Prosody's ceiling for what Parley sends: the same stanzas, written by a bare component
    // stream (confirmed by pings, as Parley does) with nothing of Parley behind it.
    if (PHASES.has('component')) rows.push(...(await componentCeiling(prosody)));
    // 2. XMPP -> Parley -> Teams side, flat out.
    if (PHASES.has('in')) {
      const send = new Peer(prosody, 'send', 'send', { to: 'alice@parley.local', count: N, idPrefix: 'x-' });
      await send.next('ready');
      const arr = teamsArrivals(stack.loopback, '/x-', N);
      const cpu = cpuMeter(redis.pid, prosody.pid);
      send.go();
      const s = await send.next('sent');
      await arr.done;
      const last = Math.max(...arr.times);
      rows.push(['xmpp_to_hub_msgs_per_s', round(N / ((last - s.startedAt) / 1000)), 'client -> Prosody -> Parley -> Teams side (delivered)']);
      rows.push(...cpu('xmpp_to_hub'));
      await send.stop();
    }
    // 3. Teams side -> Parley -> XMPP client, flat out: from CHATS Teams users (CHATS chats), and from one.
    if (PHASES.has('out')) {
      for (const [label, chats, what] of [
        ['hub_to_xmpp_msgs_per_s', CHATS, `Teams side (${CHATS} users) -> Parley -> Prosody -> client`],
        ['hub_to_xmpp_one_chat_msgs_per_s', 1, 'the same from one Teams user (one chat: deliveries in series)'],
      ] as const) {
        const prefix = `h${chats}-`;
        const recv = new Peer(prosody, 'recv', 'receive', { count: N, idPrefix: prefix });
        await recv.next('ready');
        const before = stack.xmpp.counters();
        const cpu = cpuMeter(redis.pid, prosody.pid);
        const started = now();
        await sendFromHub(stack.hub, prefix, N, 0, chats);
        const accepted = now();
        const r = await recv.next('done');
        rows.push([label, round(N / ((r.lastAt - started) / 1000)), what]);
        // The hub's own intake: delivery cannot outrun it, so it tells whether the spine or the XMPP side limits.
        rows.push([`${label.replace('_msgs_per_s', '')}_accepted_msgs_per_s`, round(N / ((accepted - started) / 1000)), 'Teams side -> hub: all acknowledged (durable)']);
        const cores = cpu(label.replace('_msgs_per_s', ''));
        rows.push(...cores);
        const usPerMsg = (row: string): number => round(((cores.find(([k]) => k.endsWith(row))?.[1] ?? NaN) * ((r.lastAt - started) / 1000) * 1e6) / N, 1);
        rows.push([`${label.replace('_msgs_per_s', '')}_prosody_cpu_us_per_msg`, usPerMsg('_cores_prosody'), 'Prosody CPU per message']);
        rows.push([`${label.replace('_msgs_per_s', '')}_parley_cpu_us_per_msg`, usPerMsg('_cores_parley'), 'Parley (+ its redis-server and the receiving client) CPU per message']);
        const c = stack.xmpp.counters();
        const calls = (c.deliverCalls ?? 0) - (before.deliverCalls ?? 0);
        rows.push([`${label.replace('_msgs_per_s', '')}_items_per_call`, round(((c.stanzasOut ?? 0) - (before.stanzasOut ?? 0)) / Math.max(1, calls), 1), 'messages per connector call (merged fast path)']);
        const confirmed = (c.writesConfirmed ?? 0) - (before.writesConfirmed ?? 0);
        const d = (k: string): number => (c[k] ?? 0) - (before[k] ?? 0);
        const base = label.replace('_msgs_per_s', '');
        const elapsedMs = r.lastAt - started;
        rows.push([`${base}_confirm_ms_per_write`, round(d('confirmWaitMs') / Math.max(1, confirmed), 1), 'deliver -> the server\'s pong: room wait + pong wait']);
        rows.push([`${base}_pong_ms_per_write`, round(d('pongWaitMs') / Math.max(1, confirmed), 1), 'socket write -> pong (the server\'s backlog ahead of the write)']);
        rows.push([`${base}_window_full_share`, round(d('windowFullMs') / elapsedMs, 2), 'share of the run with a write waiting for room']);
        rows.push([`${base}_window_empty_share`, round(d('windowEmptyMs') / elapsedMs, 2), 'share of the run with nothing unconfirmed (Prosody had none of ours)']);
        rows.push([`${base}_kib_in_flight`, round(d('windowByteMs') / elapsedMs / 1024, 0), 'mean unconfirmed KiB']);
        rows.push([`${base}_receiver_cores`, round(r.cpuSeconds / (elapsedMs / 1000), 2), 'CPU of the receiving client\'s thread']);
        await recv.stop();
      }
    }
    // 4. Latency at a paced rate, both directions.
    const count = RATE * SECONDS;
    const lat: number[] = [];
    if (PHASES.has('latency')) {
      const send = new Peer(prosody, 'send', 'send', { to: 'alice@parley.local', count, ratePerSec: RATE, idPrefix: 'lx-' });
      await send.next('ready');
      const arr = teamsArrivals(stack.loopback, '/lx-', count);
      send.go();
      const s = await send.next('sent');
      await arr.done;
      const d = latency(s.times, arr.times);
      lat.push(...d);
      const [p50, p99] = percentiles(d, [50, 99]);
      rows.push(['xmpp_to_hub_p50_ms', round(p50 ?? NaN, 1), `paced ${RATE}/s`], ['xmpp_to_hub_p99_ms', round(p99 ?? NaN, 1), `paced ${RATE}/s`]);
      await send.stop();
    }
    if (PHASES.has('latency')) {
      const recv = new Peer(prosody, 'recv', 'receive', { count, idPrefix: 'lh-' });
      await recv.next('ready');
      const sent = await sendFromHub(stack.hub, 'lh-', count, RATE);
      const r = await recv.next('done');
      const d = latency(sent, r.times);
      lat.push(...d);
      const [p50, p99] = percentiles(d, [50, 99]);
      rows.push(['hub_to_xmpp_p50_ms', round(p50 ?? NaN, 1), `paced ${RATE}/s`], ['hub_to_xmpp_p99_ms', round(p99 ?? NaN, 1), `paced ${RATE}/s`]);
      await recv.stop();
    }
    if (PHASES.has('direct')) {
      directRuns.push(await direct('d2-'));
      const best = directCpu[directRuns.indexOf(Math.max(...directRuns))];
      rows.unshift(
        ['direct_prosody_msgs_per_s', Math.max(...directRuns), `client -> Prosody -> client (best of ${directRuns.join(', ')})`],
        ['direct_prosody_cpu_us_per_msg', round(best?.prosody ?? NaN, 1), 'Prosody CPU per message (best run)'],
        ['direct_receiver_cpu_us_per_msg', round(best?.receiver ?? NaN, 1), 'receiving client\'s thread CPU per message (best run)'],
      );
    }
    const [p99all] = percentiles(lat, [99]);
    rows.push(['p99_ms', round(p99all ?? NaN, 1), 'both directions, paced']);
  } finally {
    await stack.stop();
    await prosody.stop();
    await redis.stop();
  }
  const results: Record<string, number> = {};
  for (const [k, v] of rows) results[k] = v;
  const ceiling = results.direct_prosody_msgs_per_s ?? NaN;
  const ratios = {
    xmpp_to_hub_vs_direct: round((results.xmpp_to_hub_msgs_per_s ?? 0) / ceiling, 2),
    hub_to_xmpp_vs_direct: round((results.hub_to_xmpp_msgs_per_s ?? 0) / ceiling, 2),
  };
  // Not a target: how much of Prosody's own component-path ceiling Parley reaches (the rest is Prosody's cost of a component's stanzas).
  const componentShare = round((results.hub_to_xmpp_msgs_per_s ?? 0) / (results.component_ceiling_msgs_per_s ?? NaN), 2);
  console.log(`\nXMPP benchmark (N=${N}, paced ${RATE}/s for ${SECONDS} s, ${os.availableParallelism()} cores, ${PROSODY_NICE !== undefined ? `Prosody at nice ${PROSODY_NICE}, ` : ""}load average ${loadBefore} before, ${round(os.loadavg()[0] ?? NaN, 2)} after)\n`);
  printTable(['metric', 'value', 'what'], rows);
  console.log('');
  printTable(
    ['ratio', 'value', 'target', 'verdict'],
    Object.entries(ratios).map(([k, v]) => [k, v, '>= 0.8', v >= 0.8 ? 'PASS' : 'FAIL']),
  );
  console.log(`hub_to_xmpp vs the component ceiling: ${componentShare} (information, no target)\n`);
  mkdirSync(path.dirname(resultsFile), { recursive: true });
  writeFileSync(resultsFile, `${JSON.stringify({ benchmark: 'xmpp', date: new Date().toISOString(), params: { N, RATE, SECONDS, ...(PROSODY_NICE !== undefined ? { prosody_nice: PROSODY_NICE } : {}), cores: os.availableParallelism(), load_avg_1m_before: loadBefore, load_avg_1m_after: round(os.loadavg()[0] ?? NaN, 2) }, results, ratios: { ...ratios, hub_to_xmpp_vs_component_ceiling: componentShare } }, null, 2)}\n`);
  console.log(`results written to ${path.relative(process.cwd(), resultsFile)}`);
}
