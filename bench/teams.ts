/**
 * Teams ingress benchmark: POST /api/messages with valid signed Bot Framework
 * tokens against Parley (whole app in its own process: uWebSockets.js, the
 * Teams connector with botbuilder's JWT validation, hub, Redis durability)
 * and, in the same run, against a reference stack (botbuilder CloudAdapter on
 * restify 11 with Microsoft's echo-bot logic, same authentication), plus the
 * load generator's own ceiling against a trivial server. The Bot Connector
 * stand-in (signing keys, token endpoint, v3 API for the echo replies) runs in
 * this process. Writes bench/results/teams.json.
 *
 * Env: BENCH_TEAMS_SECONDS (per measurement, default 8), BENCH_TEAMS_INFLIGHT (default 64).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import { startBotConnector, type BotConnectorStandIn } from '../test/support/bot-connector.ts';
import { machineInfo, startBenchRedis } from './lib/env.ts';
import { percentiles, round, sleep } from './lib/stats.ts';
import { printTable } from './lib/table.ts';
import { client, xml } from '@xmpp/client';
import { PROSODY_PASSWORD, startProsody } from '../test/support/prosody.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const resultsFile = path.join(here, 'results', 'teams.json');
const SECONDS = Number(process.env.BENCH_TEAMS_SECONDS ?? 8);
const INFLIGHT = Number(process.env.BENCH_TEAMS_INFLIGHT ?? 64);
const WARMUP_S = 2;
const TOKENS = 64;
const USERS = 500;

interface Child {
  proc: ChildProcess;
  port: number;
  stop(): Promise<void>;
}

function ticks(pid: number | undefined): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(rest[11]) + Number(rest[12]);
  } catch {
    return 0;
  }
}

async function startChild(script: string, env: Record<string, string>): Promise<Child> {
  const prof = process.env.BENCH_TEAMS_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_TEAMS_PROFILE}`] : [];
  const proc = spawn(process.execPath, [...prof, '--import', 'tsx', path.join(here, 'lib', 'teams', script)], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const port = await new Promise<number>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${script} did not start: ${out.slice(-2000)}`)), 60_000);
    proc.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /READY (\d+)/.exec(out);
      if (m) {
        clearTimeout(t);
        resolve(Number(m[1]));
      }
    });
    proc.stderr?.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.length > 100_000) out = out.slice(-50_000);
    });
    proc.once('exit', (code) => reject(new Error(`${script} exited (${code}): ${out.slice(-2000)}`)));
  });
  return {
    proc,
    port,
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = new Promise<void>((r) => proc.once('exit', () => r()));
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(t);
    },
  };
}

interface LoadResult {
  reqPerS: number;
  p50: number;
  p99: number;
  ok: number;
  failed: number;
  statuses: Record<string, number>;
  serverCpuPct: number;
  redisCpuPct: number;
  /** 200s including the warm-up. */
  totalOk: number;
}

/** Closed loop: INFLIGHT requests in flight over an undici Pool for `seconds`; tokens pre-signed, bodies templated. */
/** What user `u` writes in message `n`: plain text (the test experience), or `@contact text` (Parley's experience). */
type MessageText = (u: number, n: number) => string;
const plainText: MessageText = (_u, n) => `benchmark message ${n}: the quick brown fox jumps over the lazy dog`;
const toContact: MessageText = (u, n) => `@ext${u}@partner.example benchmark message ${n}: the quick brown fox jumps over the lazy dog`;
const toXmppUser: MessageText = (_u, n) => `@recv@partner.example benchmark message ${n}: the quick brown fox jumps over the lazy dog`;

async function drive(port: number, seconds: number, stand: BotConnectorStandIn, tokens: readonly string[], serverPid: number | undefined, tag: string, redisPid?: number, text: MessageText = plainText): Promise<LoadResult> {
  const pool = new Pool(`http://127.0.0.1:${port}`, { connections: 32, pipelining: 1 });
  const serviceUrl = `${stand.url}/`;
  const recipient = JSON.stringify({ id: `28:${stand.appId}`, name: 'Parley' });
  let i = 0;
  let totalOk = 0;
  const body = (n: number): string => {
    const u = n % USERS;
    return `{"type":"message","id":"${tag}-${n}","timestamp":"${new Date().toISOString()}","channelId":"msteams","serviceUrl":"${serviceUrl}","from":{"id":"29:user-${u}","name":"User ${u}","aadObjectId":"aad-${u}"},"recipient":${recipient},"conversation":{"id":"a:conv-${u}","conversationType":"personal","tenantId":"tenant-1"},"channelData":{"tenant":{"id":"tenant-1"}},"text":"${text(u, n)}","textFormat":"plain"}`;
  };
  const run = async (ms: number, record: boolean): Promise<LoadResult> => {
    const lat: number[] = [];
    const statuses: Record<string, number> = {};
    let ok = 0;
    let failed = 0;
    const end = performance.now() + ms;
    const cpu0 = ticks(serverPid);
    const redis0 = redisPid ? ticks(redisPid) : 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: INFLIGHT }, async () => {
        while (performance.now() < end) {
          const n = i++;
          const start = performance.now();
          try {
            const res = await pool.request({
              method: 'POST',
              path: '/api/messages',
              headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens[n % tokens.length]}` },
              body: body(n),
            });
            await res.body.dump();
            statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
            if (res.statusCode === 200) {
              ok++;
              totalOk++;
            }
            else failed++;
          } catch {
            failed++;
            statuses.error = (statuses.error ?? 0) + 1;
          }
          if (record) lat.push(performance.now() - start);
        }
      }),
    );
    const elapsed = (performance.now() - t0) / 1000;
    const cpu = ((ticks(serverPid) - cpu0) / 100 / elapsed) * 100;
    const redisCpu = redisPid ? ((ticks(redisPid) - redis0) / 100 / elapsed) * 100 : 0;
    const [p50, p99] = percentiles(lat, [50, 99]);
    if (!record) return { reqPerS: 0, p50: NaN, p99: NaN, ok, failed, statuses, serverCpuPct: cpu, redisCpuPct: redisCpu, totalOk };
    return { reqPerS: ok / elapsed, p50: p50 ?? NaN, p99: p99 ?? NaN, ok, failed, statuses, serverCpuPct: cpu, redisCpuPct: redisCpu, totalOk };
  };
  try {
    await run(WARMUP_S * 1000, false);
    return await run(seconds * 1000, true);
  } finally {
    await pool.close();
  }
}

async function deliveredCount(port: number): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${port}/bench/delivered`);
  return ((await res.json()) as { delivered: number }).delivered;
}

export async function run(): Promise<void> {
  console.log(`\n== teams: /api/messages with signed tokens, ${SECONDS} s per run, ${INFLIGHT} in flight ==`);
  const redis = await startBenchRedis();
  const stand = await startBotConnector();
  stand.recording = false;
  const tokens = Array.from({ length: TOKENS }, () => stand.sign({ serviceUrl: `${stand.url}/` }));
  const teamsConfig = JSON.stringify(stand.teamsConfig());
  const results: Record<string, number> = {};
  const rows: Array<[string, number, number, number, number, number, number, string]> = [];
  /** CPU milliseconds per answered request (server process, plus redis-server for Parley): less sensitive to a busy machine than req/s. */
  const cpuPerReq = (r: LoadResult): number => round(((r.serverCpuPct + r.redisCpuPct) * 10) / Math.max(1, r.reqPerS), 2);
  const row = (name: string, r: LoadResult): void => {
    rows.push([name, round(r.reqPerS), round(r.p50, 1), round(r.p99, 1), round(r.serverCpuPct), round(r.redisCpuPct), cpuPerReq(r), JSON.stringify(r.statuses)]);
    console.log(`  ${name}: ${round(r.reqPerS)} req/s, p99 ${round(r.p99, 1)} ms, server cpu ${round(r.serverCpuPct)}%, ${cpuPerReq(r)} cpu ms/req`);
  };
  const children: Child[] = [];
  try {
    const only = process.env.BENCH_TEAMS_ONLY;
    // 1. The generator's ceiling.
    if (!only) {
    const trivial = await startChild('trivial-server.ts', {});
    children.push(trivial);
    const t = await drive(trivial.port, Math.min(SECONDS, 5), stand, tokens, trivial.proc.pid, 'trivial');
    row('generator ceiling (trivial uWS server)', t);
    results.generator_ceiling_req_per_s = round(t.reqPerS);
    await trivial.stop();
    }

    // 2. The reference stack: echo-bot logic (one reply per message), then without the reply.
    for (const logic of only ? [] : (['echo', 'noop'] as const)) {
      const ref = await startChild('reference-bot.ts', { BENCH_TEAMS_CONFIG: teamsConfig, BENCH_LOGIC: logic, NODE_EXTRA_CA_CERTS: stand.caFile });
      children.push(ref);
      const before = stand.accepted;
      const r = await drive(ref.port, SECONDS, stand, tokens, ref.proc.pid, `ref-${logic}`);
      row(`reference: restify + CloudAdapter, ${logic === 'echo' ? 'echo-bot (reply per message)' : 'no reply'}`, r);
      if (logic === 'echo') {
        results.reference_req_per_s = round(r.reqPerS);
        results.reference_p99_ms = round(r.p99, 1);
        results.reference_replies = stand.accepted - before;
        results.reference_cpu_ms_per_req = cpuPerReq(r);
      } else results.reference_noreply_req_per_s = round(r.reqPerS);
      await ref.stop();
    }

    // 3. Parley: each message becomes a durable envelope to an XMPP user (loopback), no reply; then with an
    //    echo reply; then through Parley's own experience (`@contact text`: commands, directory, HTML).
    const variants = only === 'xmpp' ? [] : only === 'parley' ? (['plain'] as const) : (['plain', 'echo', 'real'] as const);
    for (const variant of variants) {
      const replies = variant === 'echo';
      const parley = await startChild('parley-bot.ts', {
        BENCH_REDIS_URL: redis.url,
        BENCH_PREFIX: `bt${randomUUID().slice(0, 8)}`,
        BENCH_REPLIES: replies ? '1' : '0',
        BENCH_EXPERIENCE: variant === 'real' ? 'real' : 'test',
        // Teams allows 50 requests/s per tenant, and Parley's pacing keeps to it; the reference does not pace.
        BENCH_TEAMS_CONFIG: JSON.stringify({ ...stand.teamsConfig(), perTenantPerSecond: 1_000_000, perConversationPerSecond: 1_000_000 }),
      });
      children.push(parley);
      const delivered0 = await deliveredCount(parley.port);
      const t0 = Date.now();
      const r = await drive(parley.port, SECONDS, stand, tokens, parley.proc.pid, `parley-${variant}`, redis.pid, variant === 'real' ? toContact : plainText);
      if (variant === 'real') {
        row("parley: the same through Parley's own experience (@contact text)", r);
        results.ingress_real_experience_req_per_s = round(r.reqPerS);
        results.ingress_real_experience_p99_ms = round(r.p99, 1);
        results.ingress_real_experience_cpu_ms_per_req = cpuPerReq(r);
        const deadline = Date.now() + 30_000;
        let got = (await deliveredCount(parley.port)) - delivered0;
        while (got < r.totalOk && Date.now() < deadline) {
          await sleep(100);
          got = (await deliveredCount(parley.port)) - delivered0;
        }
        results.real_experience_envelopes_delivered = got;
        if (got < r.totalOk) console.log(`WARNING: Parley's experience turned ${r.totalOk} accepted activities into only ${got} deliveries`);
      } else if (!replies) {
        row('parley: message -> durable envelope to XMPP (no reply)', r);
        results.ingress_req_per_s = round(r.reqPerS);
        results.ingress_p50_ms = round(r.p50, 1);
        results.ingress_p99_ms = round(r.p99, 1);
        results.ingress_server_cpu_pct = round(r.serverCpuPct);
        results.ingress_cpu_ms_per_req = cpuPerReq(r);
        // End to end: every accepted activity (warm-up included) reaches the XMPP side.
        const expected = delivered0 + r.totalOk;
        const deadline = Date.now() + 30_000;
        let delivered = await deliveredCount(parley.port);
        while (delivered < expected && Date.now() < deadline) {
          await sleep(100);
          delivered = await deliveredCount(parley.port);
        }
        results.teams_to_loopback_msgs_per_s = round((delivered - delivered0) / ((Date.now() - t0) / 1000));
      } else {
        row('parley: the same, plus an echo reply per message', r);
        results.ingress_echo_req_per_s = round(r.reqPerS);
        results.ingress_echo_p99_ms = round(r.p99, 1);
      }
      await parley.stop();
    }
    // 4. End to end through a real Prosody: Parley's experience and XMPP connector, an @xmpp/client user counting what arrives.
    if (!only || only === 'xmpp') {
      const prosody = await startProsody({ hosts: { 'partner.example': ['recv'] }, components: { 'parley.local': 'bench-secret-123' } });
      const recv = client({ service: `xmpp://127.0.0.1:${prosody.c2sPort}`, domain: 'partner.example', username: 'recv', password: PROSODY_PASSWORD, resource: 'bench' });
      recv.on('error', () => undefined);
      let arrived = 0;
      recv.on('stanza', (el) => {
        if (el.name === 'message' && el.getChildText('body')?.startsWith('benchmark message')) arrived++;
      });
      try {
        await recv.start();
        await recv.send(xml('presence'));
        const parley = await startChild('parley-bot.ts', {
          BENCH_REDIS_URL: redis.url,
          BENCH_PREFIX: `bt${randomUUID().slice(0, 8)}`,
          BENCH_EXPERIENCE: 'real',
          BENCH_XMPP: JSON.stringify({ service: `xmpp://127.0.0.1:${prosody.componentPort}`, secret: 'bench-secret-123' }),
          BENCH_TEAMS_CONFIG: JSON.stringify({ ...stand.teamsConfig(), perTenantPerSecond: 1_000_000, perConversationPerSecond: 1_000_000 }),
        });
        children.push(parley);
        const t0 = Date.now();
        const r = await drive(parley.port, SECONDS, stand, tokens, parley.proc.pid, 'parley-xmpp', redis.pid, toXmppUser);
        row('parley: the same, to an XMPP user through a real Prosody', r);
        const deadline = Date.now() + 60_000;
        while (arrived < r.totalOk && Date.now() < deadline) await sleep(100);
        results.teams_to_xmpp_msgs_per_s = round(arrived / ((Date.now() - t0) / 1000));
        results.teams_to_xmpp_arrived = arrived;
        results.teams_to_xmpp_accepted = r.totalOk;
        if (arrived < r.totalOk) console.log(`WARNING: ${r.totalOk} activities accepted, ${arrived} arrived at the XMPP user`);
        await parley.stop();
      } finally {
        await recv.stop().catch(() => undefined);
        await prosody.stop();
      }
    }
  } finally {
    for (const c of children) await c.stop();
    await stand.stop();
    await redis.stop();
  }
  printTable(['run', 'req/s', 'p50 ms', 'p99 ms', 'server cpu %', 'redis cpu %', 'cpu ms/req', 'statuses'], rows);
  const ratios = {
    ingress_vs_reference: round((results.ingress_req_per_s ?? 0) / (results.reference_req_per_s ?? NaN), 2),
    ingress_echo_vs_reference: round((results.ingress_echo_req_per_s ?? 0) / (results.reference_req_per_s ?? NaN), 2),
    ingress_vs_reference_noreply: round((results.ingress_req_per_s ?? 0) / (results.reference_noreply_req_per_s ?? NaN), 2),
    reference_vs_ingress_cpu_per_req: round((results.reference_cpu_ms_per_req ?? NaN) / (results.ingress_cpu_ms_per_req ?? NaN), 2),
    ingress_vs_generator_ceiling: round((results.ingress_req_per_s ?? 0) / (results.generator_ceiling_req_per_s ?? NaN), 2),
  };
  console.log(ratios);
  mkdirSync(path.dirname(resultsFile), { recursive: true });
  writeFileSync(
    resultsFile,
    `${JSON.stringify({ benchmark: 'teams', date: new Date().toISOString(), params: { SECONDS, INFLIGHT, TOKENS, USERS, cores: os.availableParallelism() }, machine: machineInfo(), results, ratios, notes: { teams_to_xmpp: 'through a real Prosody to an @xmpp/client user, Parley with its own experience and XMPP connector; from first request to last arrival, warm-up included in the count', teams_to_loopback: 'the same to the loopback connector (no Prosody)' } }, null, 2)}\n`,
  );
}
