/**
 * Prosody's work per message, counted in instructions (valgrind's callgrind),
 * so that stanza shapes can be compared on a shared, noisy machine where CPU
 * time cannot: one client to another (the direct run's stanza) against the
 * stanzas Parley's component writes, with and without its extension elements.
 * Not part of `npm run bench`; needs valgrind (apt-get install valgrind).
 *
 *   npx tsx bench/xmpp-prosody-cost.ts   (XMPP_COST_N messages per shape, default 2,000; XMPP_COST_ROUNDS, default 2)
 */
import { execSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { ComponentLink } from '../src/connectors/xmpp/link.ts';
import { toFragment } from '../src/connectors/xmpp/outbound.ts';
import type { Envelope } from '../src/core/envelope.ts';
import { startProsody } from '../test/support/prosody.ts';
import { printTable } from './lib/table.ts';
import { Peer } from './lib/xmpp-peer.ts';

const N = Number(process.env.XMPP_COST_N ?? 2_000);
/** Each shape is measured this many times, interleaved; the lowest count is kept (a first pass also warms Prosody up). */
const ROUNDS = Number(process.env.XMPP_COST_ROUNDS ?? 2);
/** Prosody runs ~50x slower under callgrind. */
const SLOW_MS = 600_000;

const im = (prefix: string, i: number, receiptRequested = false): Envelope => ({
  type: 'im', ...(receiptRequested ? { receiptRequested } : {}), id: `${prefix}${i}`, ts: Date.now(),
  from: { platform: 'teams', id: `u${i % 16}@raw.local`, domain: 'raw.local' }, to: { platform: 'xmpp', id: 'recv@partner.example', domain: 'partner.example' },
  body: { blocks: [{ t: 'p', c: [{ t: 'text', v: 'benchmark message: the quick brown fox jumps over the lazy dog, 0123456789' }] }] },
});
const shapes: Array<[string, ((prefix: string, i: number) => string) | 'direct', string]> = [
  ['direct', 'direct', 'client -> Prosody -> client: <body> only'],
  ['parley_first', (p, i) => toFragment(im(p, i)), "component: <body>, <active/> (a conversation's first message)"],
  ['parley', (p, i) => toFragment(im(p, i), { active: false }), 'component: <body> (a Teams message after the first)'],
  ['parley_receipt', (p, i) => toFragment(im(p, i, true), { active: false }), 'component: <body>, receipt request (only when the sender asked; before: every message)'],
];

const out = mkdtempSync(path.join(os.tmpdir(), 'parley-callgrind-'));
const prosody = await startProsody({
  hosts: { 'partner.example': ['send', 'recv'] }, components: { 'raw.local': 'cost-secret' },
  wrap: ['valgrind', '--tool=callgrind', '--trace-children=yes', `--callgrind-out-file=${path.join(out, 'cg.%p')}`],
});
const link = new ComponentLink({
  service: `xmpp://127.0.0.1:${prosody.componentPort}`, domain: 'raw.local', secret: 'cost-secret', barrierDomain: 'partner.example',
  maxPendingBytes: 4 << 20, reconnectMinMs: 250, reconnectMaxMs: 1000, connectTimeoutMs: 600_000, log: pino({ level: 'silent' }), onStanza: () => undefined,
});
/** Instructions since the previous dump: callgrind_control dumps (and zeroes) the running Prosody's counters. */
const dump = (): number => {
  execSync('callgrind_control -d', { stdio: 'ignore' });
  const files = readdirSync(out).filter((f) => /\.\d+\.\d+$/.test(f)).sort((a, b) => Number(a.split('.').pop()) - Number(b.split('.').pop()));
  return Number(/summary: (\d+)/.exec(readFileSync(path.join(out, files.at(-1) ?? ''), 'utf8'))?.[1]);
};
const best = new Map<string, number>();
try {
  await link.start();
  await link.waitOnline(120_000);
  for (let round = 0; round < ROUNDS; round++) for (const [name, make] of shapes) {
    const prefix = `${name}${round}-`;
    const recv = new Peer(prosody, 'recv', 'receive', { count: N, idPrefix: prefix });
    await recv.next('ready', SLOW_MS);
    const send = make === 'direct' ? new Peer(prosody, 'send', 'send', { to: 'recv@partner.example', count: N, idPrefix: prefix }) : undefined;
    await send?.next('ready', SLOW_MS);
    await new Promise((r) => setTimeout(r, 500));
    dump();
    if (send) send.go();
    else if (make !== 'direct') {
      const writes: Array<Promise<void>> = [];
      for (let i = 0; i < N; i += 500) {
        let fragment = '';
        for (let k = i; k < Math.min(N, i + 500); k++) fragment += make(prefix, k);
        writes.push(link.write(fragment));
      }
      await Promise.all(writes);
    }
    await recv.next('done', SLOW_MS);
    const perMsg = Math.round(dump() / N);
    best.set(name, Math.min(best.get(name) ?? Infinity, perMsg));
    await Promise.all([recv.stop(), send?.stop()]);
  }
} finally {
  await link.stop();
  await prosody.stop();
  rmSync(out, { recursive: true, force: true });
}
const rows = shapes.map(([name, , what]): [string, number, string] => [`prosody_instructions_per_msg_${name}`, best.get(name) ?? NaN, what]);
const direct = rows[0]?.[1] ?? NaN;
printTable(['metric', 'instructions', 'vs direct', 'what'], rows.map(([k, v, w]) => [k, v, (v / direct).toFixed(2), w]));
process.exit(0);
