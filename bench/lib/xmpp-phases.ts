// The XMPP benchmark's phases: Prosody alone (one client to another), each
// direction through Parley flat out, Prosody's component-path ceiling, and
// latency at a paced rate. Each returns its rate and the rows it measured.
import { pino } from 'pino';
import { ChatStateMemory } from '../../src/connectors/xmpp/chat-states.ts';
import { ComponentLink } from '../../src/connectors/xmpp/link.ts';
import { toFragment } from '../../src/connectors/xmpp/outbound.ts';
import type { TestProsody } from '../../test/support/prosody.ts';
import { percentiles, round } from './stats.ts';
import { Peer } from './xmpp-peer.ts';
import { cpuMeter, hubMessage, now, sendFromHub, teamsArrivals, type Row, type Stack } from './xmpp-stack.ts';

export interface Bench {
  prosody: TestProsody;
  redisPid: number | undefined;
  stack: Stack;
  /** Messages per throughput run. */
  n: number;
}

export interface DirectRun {
  rate: number;
  /** CPU µs per message: Prosody, and the receiving client's thread. */
  prosodyUs: number;
  receiverUs: number;
}

/** Prosody's own ceiling: one client to another through it. */
export async function direct(b: Bench, prefix: string): Promise<DirectRun> {
  const recv = new Peer(b.prosody, 'recv', 'receive', { count: b.n, idPrefix: prefix });
  const send = new Peer(b.prosody, 'send', 'send', { to: 'recv@partner.example', count: b.n, idPrefix: prefix });
  try {
    await Promise.all([recv.next('ready'), send.next('ready')]);
    const cpu = cpuMeter(b.redisPid, b.prosody.pid);
    send.go();
    const [s, r] = await Promise.all([send.next('sent'), recv.next('done')]);
    const elapsed = (r.lastAt - s.startedAt) / 1000;
    const prosodyCores = cpu('direct').find(([k]) => k.endsWith('_cores_prosody'))?.[1] ?? NaN;
    return { rate: round(b.n / elapsed), prosodyUs: round((prosodyCores * elapsed * 1e6) / b.n, 1), receiverUs: round((r.cpuSeconds * 1e6) / b.n, 1) };
  } finally {
    await Promise.all([recv.stop(), send.stop()]);
  }
}

/** One client -> Prosody -> Parley -> Teams side, flat out; counted when the Teams side has every message. */
export async function xmppToHub(b: Bench, prefix: string): Promise<{ rate: number; rows: Row[] }> {
  const send = new Peer(b.prosody, 'send', 'send', { to: 'alice@parley.local', count: b.n, idPrefix: prefix });
  const arr = teamsArrivals(b.stack.loopback, `/${prefix}`, b.n);
  try {
    await send.next('ready');
    const cpu = cpuMeter(b.redisPid, b.prosody.pid);
    send.go();
    const s = await send.next('sent');
    await arr.done;
    const rate = round(b.n / ((Math.max(...arr.times) - s.startedAt) / 1000));
    return { rate, rows: [['xmpp_to_hub_msgs_per_s', rate, 'client -> Prosody -> Parley -> Teams side (delivered)'], ...cpu('xmpp_to_hub')] };
  } finally {
    arr.cancel();
    await send.stop();
  }
}

/**
 * Teams side (`chats` users) -> Parley -> Prosody -> one client, flat out;
 * counted when the client has every message. Rows are named `<base>_...`.
 */
export async function hubToXmpp(b: Bench, prefix: string, chats: number, base: string, what: string): Promise<{ rate: number; rows: Row[] }> {
  const recv = new Peer(b.prosody, 'recv', 'receive', { count: b.n, idPrefix: prefix });
  try {
    await recv.next('ready');
    const before = b.stack.xmpp.counters();
    const cpu = cpuMeter(b.redisPid, b.prosody.pid);
    const started = now();
    await sendFromHub(b.stack.hub, prefix, b.n, 0, chats);
    const accepted = now();
    const r = await recv.next('done');
    const elapsedMs = r.lastAt - started;
    const rate = round(b.n / (elapsedMs / 1000));
    const cores = cpu(base);
    const usPerMsg = (row: string): number => round(((cores.find(([k]) => k.endsWith(row))?.[1] ?? NaN) * (elapsedMs / 1000) * 1e6) / b.n, 1);
    const c = b.stack.xmpp.counters();
    const d = (k: string): number => (c[k] ?? 0) - (before[k] ?? 0);
    const confirmed = Math.max(1, d('writesConfirmed'));
    return {
      rate,
      rows: [
        [`${base}_msgs_per_s`, rate, what],
        // The hub's own intake: delivery cannot outrun it, so it tells whether the spine or the XMPP side limits.
        [`${base}_accepted_msgs_per_s`, round(b.n / ((accepted - started) / 1000)), 'Teams side -> hub: all acknowledged (durable)'],
        ...cores,
        [`${base}_prosody_cpu_us_per_msg`, usPerMsg('_cores_prosody'), 'Prosody CPU per message'],
        [`${base}_parley_cpu_us_per_msg`, usPerMsg('_cores_parley'), 'Parley (+ its redis-server and the receiving client) CPU per message'],
        [`${base}_items_per_call`, round(d('stanzasOut') / Math.max(1, d('deliverCalls')), 1), 'messages per connector call (merged fast path)'],
        [`${base}_confirm_ms_per_write`, round(d('confirmWaitMs') / confirmed, 1), "deliver -> the server's pong: room wait + pong wait"],
        [`${base}_pong_ms_per_write`, round(d('pongWaitMs') / confirmed, 1), "socket write -> pong (the server's backlog ahead of the write)"],
        [`${base}_window_full_share`, round(d('windowFullMs') / elapsedMs, 2), 'share of the run with a write waiting for room'],
        [`${base}_window_empty_share`, round(d('windowEmptyMs') / elapsedMs, 2), 'share of the run with nothing unconfirmed (Prosody had none of ours)'],
        [`${base}_kib_in_flight`, round(d('windowByteMs') / elapsedMs / 1024, 0), 'mean unconfirmed KiB'],
        [`${base}_receiver_cores`, round(r.cpuSeconds / (elapsedMs / 1000), 2), "CPU of the receiving client's thread"],
      ],
    };
  } finally {
    await recv.stop();
  }
}

/** Parley-shaped chat messages from a bare component stream to one client, flat out: Prosody's component-path ceiling. */
export async function componentCeiling(prosody: TestProsody, n: number, chats: number): Promise<Row[]> {
  const link = new ComponentLink({
    service: `xmpp://127.0.0.1:${prosody.componentPort}`, domain: 'raw.local', secret: prosody.components['raw.local'] ?? '', barrierDomain: 'partner.example',
    maxPendingBytes: 4 << 20, reconnectMinMs: 250, reconnectMaxMs: 1000, connectTimeoutMs: 60_000, log: pino({ level: 'silent' }), onStanza: () => undefined,
  });
  await link.start();
  let recv: Peer | undefined;
  try {
    await link.waitOnline(15_000);
    const prefix = 'c-';
    recv = new Peer(prosody, 'recv', 'receive', { count: n, idPrefix: prefix });
    await recv.next('ready');
    const started = now();
    const writes: Array<Promise<void>> = [];
    const states = new ChatStateMemory(1000);
    for (let i = 0; i < n; i += 500) {
      let fragment = '';
      for (let k = i; k < Math.min(n, i + 500); k++) {
        const env = hubMessage(prefix, k, chats);
        const from = { ...env.from, id: env.from.id.replace('@parley.local', '@raw.local'), domain: 'raw.local' };
        fragment += toFragment({ ...env, from }, { active: states.announceActive(from.id, env.to.id) });
      }
      writes.push(link.write(fragment));
      if (writes.length >= 16) await writes.shift();
    }
    await Promise.all(writes);
    const r = await recv.next('done');
    return [['component_ceiling_msgs_per_s', round(n / ((r.lastAt - started) / 1000)), 'bare component stream -> Prosody -> client, the stanzas Parley sends']];
  } finally {
    await recv?.stop();
    await link.stop();
  }
}

const delays = (sent: Float64Array, got: Float64Array): number[] => {
  const d: number[] = [];
  for (let i = 0; i < sent.length; i++) if (got[i] && sent[i]) d.push((got[i] as number) - (sent[i] as number));
  return d;
};

/** Send -> receive delays at `rate` messages/s for `seconds`, both directions, with their p50/p99 rows. */
export async function pacedLatency(b: Bench, rate: number, seconds: number): Promise<{ delays: number[]; rows: Row[] }> {
  const count = rate * seconds;
  const all: number[] = [];
  const rows: Row[] = [];
  const send = new Peer(b.prosody, 'send', 'send', { to: 'alice@parley.local', count, ratePerSec: rate, idPrefix: 'lx-' });
  const arr = teamsArrivals(b.stack.loopback, '/lx-', count);
  try {
    await send.next('ready');
    send.go();
    const s = await send.next('sent');
    await arr.done;
    const d = delays(s.times, arr.times);
    all.push(...d);
    const [p50, p99] = percentiles(d, [50, 99]);
    rows.push(['xmpp_to_hub_p50_ms', round(p50 ?? NaN, 1), `paced ${rate}/s`], ['xmpp_to_hub_p99_ms', round(p99 ?? NaN, 1), `paced ${rate}/s`]);
  } finally {
    arr.cancel();
    await send.stop();
  }
  const recv = new Peer(b.prosody, 'recv', 'receive', { count, idPrefix: 'lh-' });
  try {
    await recv.next('ready');
    const sent = await sendFromHub(b.stack.hub, 'lh-', count, rate);
    const r = await recv.next('done');
    const d = delays(sent, r.times);
    all.push(...d);
    const [p50, p99] = percentiles(d, [50, 99]);
    rows.push(['hub_to_xmpp_p50_ms', round(p50 ?? NaN, 1), `paced ${rate}/s`], ['hub_to_xmpp_p99_ms', round(p99 ?? NaN, 1), `paced ${rate}/s`]);
  } finally {
    await recv.stop();
  }
  return { delays: all, rows };
}
