/**
 * XMPP benchmark: Parley as a component of a real Prosody, against Prosody's
 * own ceiling measured in the same run (one @xmpp/client to another). XMPP
 * peers run in worker threads of their own. Writes bench/results/xmpp.json.
 *
 * The run is ROUNDS rounds of (XMPP -> Parley, Prosody alone, Parley -> XMPP):
 * on a shared machine the speed moves by a third within minutes, so each
 * direction is compared with the Prosody-alone run next to it, and the
 * verdict is the median of the rounds' ratios (all of them are printed).
 *
 * Knobs: XMPP_BENCH_N (messages per throughput run, default 30,000),
 * XMPP_BENCH_ROUNDS (default 3), XMPP_BENCH_RATE (paced rate for the latency
 * runs, default 1,000/s), XMPP_BENCH_SECONDS (length of a latency run,
 * default 10), XMPP_BENCH_CHATS (Teams users sending, default 16),
 * XMPP_BENCH_PHASES (comma-separated subset of direct,component,in,out,latency),
 * XMPP_BENCH_WARM_UP (messages each direction sends, uncounted, before the
 * rounds; default N).
 *
 * The warm-up is as long as a counted run because a freshly started hub is
 * slower for its first seconds (most likely its heap growing to its working
 * size: the young generation grows, mark-compacts raise the old one): after a
 * 2,000-message warm-up the first round out was ~10% slower than the later
 * ones, after 30,000 it was not. Prosody, the other side of the ratio, is
 * warm too. The warm-up's rates are printed, as information.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ManagedRedis } from '../src/state/managed-redis.ts';
import { startProsody } from '../test/support/prosody.ts';
import { percentiles, round } from './lib/stats.ts';
import { printTable } from './lib/table.ts';
import { componentCeiling, direct, hubToXmpp, pacedLatency, xmppToHub, type Bench, type DirectRun } from './lib/xmpp-phases.ts';
import { startStack, type Row } from './lib/xmpp-stack.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const resultsFile = path.join(here, 'results', 'xmpp.json');

const N = Number(process.env.XMPP_BENCH_N ?? 30_000);
const ROUNDS = Number(process.env.XMPP_BENCH_ROUNDS ?? 3);
if (!Number.isInteger(ROUNDS) || ROUNDS < 1) throw new Error(`XMPP_BENCH_ROUNDS must be a whole number >= 1, not ${process.env.XMPP_BENCH_ROUNDS}`);
const RATE = Number(process.env.XMPP_BENCH_RATE ?? 1_000);
const SECONDS = Number(process.env.XMPP_BENCH_SECONDS ?? 10);
const CHATS = Number(process.env.XMPP_BENCH_CHATS ?? 16);
const WARM_UP = Number(process.env.XMPP_BENCH_WARM_UP ?? N);
if (!Number.isInteger(WARM_UP) || WARM_UP < 0) throw new Error(`XMPP_BENCH_WARM_UP must be a whole number >= 0, not ${process.env.XMPP_BENCH_WARM_UP}`);
const PHASES = new Set((process.env.XMPP_BENCH_PHASES ?? 'direct,component,in,out,latency').split(','));
/** Prosody in a session (so a scheduling autogroup) of its own, as a daemon runs; XMPP_BENCH_PROSODY_SESSION=shared puts it in the bench's. */
const PROSODY_OWN_SESSION = process.env.XMPP_BENCH_PROSODY_SESSION !== 'shared';
/**
 * Diagnostic, off by default: a nice value for Prosody (e.g. -10), so that it gets its core whenever it
 * can run, as on a machine of its own; it shows how much of a gap is the two sharing 2 cores.
 */
const PROSODY_NICE = process.env.XMPP_BENCH_PROSODY_NICE ? Number(process.env.XMPP_BENCH_PROSODY_NICE) : undefined;
const HUB_TO_XMPP = `Teams side (${CHATS} users) -> Parley -> Prosody -> client`;

interface Round {
  direct?: DirectRun;
  in?: { rate: number; rows: Row[] };
  out?: { rate: number; rows: Row[] };
}

const median = (values: number[]): number => percentiles(values, [50])[0] ?? NaN;
const ratio = (a: number | undefined, b: number | undefined): number => (a !== undefined && b ? round(a / b, 2) : NaN);
/**
 * The round whose `pick` is the median (the lower middle of an even count),
 * so that its own rows describe the round the verdict came from.
 */
function medianRound(rounds: Round[], pick: (r: Round) => number): Round | undefined {
  const ranked = rounds.filter((r) => Number.isFinite(pick(r))).sort((a, b) => pick(a) - pick(b));
  return ranked[Math.ceil(ranked.length / 2) - 1];
}
/** A direction's ratio in a round, or (without a direct run) its rate: what ranks its rounds. */
const rankIn = (r: Round): number => (r.direct ? ratio(r.in?.rate, r.direct.rate) : (r.in?.rate ?? NaN));
const rankOut = (r: Round): number => (r.direct ? ratio(r.out?.rate, r.direct.rate) : (r.out?.rate ?? NaN));

/** Uncounted: the hub's code compiled and its heap grown before the first counted run; the rates are information. */
async function warmUp(b: Bench): Promise<Row[]> {
  const rows: Row[] = [];
  if (WARM_UP <= 0) return rows;
  const w = { ...b, n: WARM_UP };
  if (PHASES.has('in')) rows.push(['xmpp_to_hub_cold_msgs_per_s', (await xmppToHub(w, 'w-')).rate, `the warm-up: a fresh hub's first ${WARM_UP} messages in (not counted)`]);
  if (PHASES.has('out')) rows.push(['hub_to_xmpp_cold_msgs_per_s', (await hubToXmpp(w, 'hw-', CHATS, 'warm_up', '')).rate, `the warm-up: a fresh hub's first ${WARM_UP} messages out (not counted)`]);
  return rows;
}

async function runRounds(b: Bench): Promise<Round[]> {
  const rounds: Round[] = [];
  for (let i = 1; i <= ROUNDS; i++) {
    const r: Round = {};
    if (PHASES.has('in')) r.in = await xmppToHub(b, `x${i}-`);
    if (PHASES.has('direct')) r.direct = await direct(b, `d${i}-`);
    if (PHASES.has('out')) r.out = await hubToXmpp(b, `h${i}-`, CHATS, 'hub_to_xmpp', HUB_TO_XMPP);
    rounds.push(r);
  }
  return rounds;
}

function summarise(rounds: Round[]): Row[] {
  const rows: Row[] = [];
  const directs = rounds.flatMap((r) => (r.direct ? [r.direct] : []));
  if (directs.length > 0) {
    rows.push(
      ['direct_prosody_msgs_per_s', median(directs.map((d) => d.rate)), `client -> Prosody -> client (median of ${directs.map((d) => d.rate).join(', ')})`],
      ['direct_prosody_cpu_us_per_msg', median(directs.map((d) => d.prosodyUs)), 'Prosody CPU per message (median)'],
      ['direct_receiver_cpu_us_per_msg', median(directs.map((d) => d.receiverUs)), "receiving client's thread CPU per message (median)"],
    );
  }
  // Each direction's rows are those of the round its verdict came from.
  rows.push(...(medianRound(rounds, rankIn)?.in?.rows ?? []));
  rows.push(...(medianRound(rounds, rankOut)?.out?.rows ?? []));
  return rows;
}

function printRounds(rounds: Round[]): void {
  printTable(
    ['round', 'xmpp_to_hub', 'direct', 'hub_to_xmpp', 'in ÷ direct', 'out ÷ direct', 'Prosody µs/msg: direct', 'hub_to_xmpp'],
    rounds.map((r, i) => [
      i + 1,
      r.in?.rate ?? NaN,
      r.direct?.rate ?? NaN,
      r.out?.rate ?? NaN,
      ratio(r.in?.rate, r.direct?.rate),
      ratio(r.out?.rate, r.direct?.rate),
      r.direct?.prosodyUs ?? NaN,
      r.out?.rows.find(([k]) => k === 'hub_to_xmpp_prosody_cpu_us_per_msg')?.[1] ?? NaN,
    ]),
  );
}

export async function run(): Promise<void> {
  // The machine is shared: the load around the run says how much the figures can be trusted.
  const loadBefore = round(os.loadavg()[0] ?? NaN, 2);
  const redis = await ManagedRedis.temporary();
  const prosody = await startProsody({ hosts: { 'partner.example': ['send', 'recv'] }, components: { 'parley.local': 'bench-secret-123', 'raw.local': 'bench-secret-raw' }, ownSession: PROSODY_OWN_SESSION });
  if (PROSODY_NICE !== undefined && prosody.pid) os.setPriority(prosody.pid, PROSODY_NICE);
  const stack = await startStack(redis.url, prosody);
  const b: Bench = { prosody, redisPid: redis.pid, stack, n: N };
  const rows: Row[] = [];
  let rounds: Round[] = [];
  try {
    const cold = await warmUp(b);
    rounds = await runRounds(b);
    rows.push(...summarise(rounds), ...cold);
    // Information, once: Prosody's ceiling for the stanzas Parley sends (a bare component stream, confirmed
    // by pings as Parley does, nothing of Parley behind it), and Parley -> XMPP from one Teams user.
    if (PHASES.has('component')) rows.push(...(await componentCeiling(prosody, N, CHATS)));
    if (PHASES.has('out')) rows.push(...(await hubToXmpp(b, 'h1c-', 1, 'hub_to_xmpp_one_chat', 'the same from one Teams user (one chat: deliveries in series)')).rows);
    if (PHASES.has('latency')) {
      const lat = await pacedLatency(b, RATE, SECONDS);
      rows.push(...lat.rows, ['p99_ms', round(percentiles(lat.delays, [99])[0] ?? NaN, 1), 'both directions, paced']);
    }
  } finally {
    await stack.stop();
    await prosody.stop();
    await redis.stop();
  }
  const results: Record<string, number> = {};
  for (const [k, v] of rows) results[k] = v;
  const perRound = rounds.map((r) => ({
    direct_prosody_msgs_per_s: r.direct?.rate ?? null,
    xmpp_to_hub_msgs_per_s: r.in?.rate ?? null,
    hub_to_xmpp_msgs_per_s: r.out?.rate ?? null,
    xmpp_to_hub_vs_direct: ratio(r.in?.rate, r.direct?.rate),
    hub_to_xmpp_vs_direct: ratio(r.out?.rate, r.direct?.rate),
  }));
  const ratios = {
    xmpp_to_hub_vs_direct: median(perRound.map((r) => r.xmpp_to_hub_vs_direct).filter(Number.isFinite)),
    hub_to_xmpp_vs_direct: median(perRound.map((r) => r.hub_to_xmpp_vs_direct).filter(Number.isFinite)),
  };
  // Not a target: how much of Prosody's own component-path ceiling Parley reaches (the rest is Prosody's cost of a component's stanzas).
  const componentShare = round((results.hub_to_xmpp_msgs_per_s ?? 0) / (results.component_ceiling_msgs_per_s ?? NaN), 2);
  console.log(`\nXMPP benchmark (N=${N}, warm-up ${WARM_UP}, ${ROUNDS} rounds, paced ${RATE}/s for ${SECONDS} s, ${os.availableParallelism()} cores, ${PROSODY_NICE !== undefined ? `Prosody at nice ${PROSODY_NICE}, ` : ''}load average ${loadBefore} before, ${round(os.loadavg()[0] ?? NaN, 2)} after)\n`);
  printRounds(rounds);
  console.log('');
  printTable(['metric', 'value', 'what'], rows);
  console.log('');
  printTable(
    ['ratio (median of the rounds)', 'value', 'rounds', 'target', 'verdict'],
    Object.entries(ratios).map(([k, v]) => [k, v, perRound.map((r) => r[k as keyof typeof ratios]).join(' / '), '>= 0.8', Number.isNaN(v) ? 'skipped' : v >= 0.8 ? 'PASS' : 'FAIL']),
  );
  console.log(`hub_to_xmpp vs the component ceiling: ${componentShare} (information, no target)\n`);
  mkdirSync(path.dirname(resultsFile), { recursive: true });
  const params = { N, WARM_UP, ROUNDS, RATE, SECONDS, CHATS, ...(PROSODY_NICE !== undefined ? { prosody_nice: PROSODY_NICE } : {}), cores: os.availableParallelism(), load_avg_1m_before: loadBefore, load_avg_1m_after: round(os.loadavg()[0] ?? NaN, 2) };
  writeFileSync(resultsFile, `${JSON.stringify({ benchmark: 'xmpp', date: new Date().toISOString(), params, results, ratios: { ...ratios, hub_to_xmpp_vs_component_ceiling: componentShare }, rounds: perRound }, null, 2)}\n`);
  console.log(`results written to ${path.relative(process.cwd(), resultsFile)}`);
}
