import { runInNewContext } from 'node:vm';
import v8 from 'node:v8';
import xml from '@xmpp/xml';
import { describe, expect, it } from 'vitest';
import type { Envelope } from '../../src/core/envelope.ts';
import { im, until } from '../support/hub.ts';
import { alice, ext, useXmppStack, xmppUser, type TestXmppUser } from '../support/xmpp.ts';

v8.setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const heapMb = (): number => {
  gc();
  return v8.getHeapStatistics().used_heap_size / 1048576;
};

describe('XMPP server restart', () => {
  const s = useXmppStack({ prosody: { hosts: { 'partner.example': ['ext1'] } } });

  it('Prosody killed and restarted mid-conversation: the connector reconnects and every acknowledged message arrives', async () => {
    const total = 300;
    let bob: TestXmppUser = await xmppUser(s.prosody, 'ext1');
    const seen = new Map<string, number>();
    const track = (u: TestXmppUser): void => {
      u.client.on('stanza', (el: { name: string; attrs: Record<string, string> }) => {
        const id = el.attrs.id?.replace(/^parley:/, '');
        if (el.name === 'message' && id?.startsWith('restart-')) seen.set(id, (seen.get(id) ?? 0) + 1);
      });
    };
    track(bob);
    const acked: string[] = [];
    for (let i = 0; i < total; i++) {
      if (i === 100) {
        await s.prosody.kill('SIGKILL');
        await until(() => s.xmpp.status().state !== 'up', 10_000, 'link down');
      }
      if (i === 200) await s.prosody.restart();
      const env: Envelope = im(`restart-${i}`, alice, ext('ext1'));
      const ack = await s.t.hub.ingest(env);
      if (ack.outcome === 'accepted') acked.push(env.id);
    }
    expect(acked).toHaveLength(total);
    await s.xmpp.waitOnline(20_000);
    await bob.stop();
    bob = await xmppUser(s.prosody, 'ext1');
    track(bob);
    await until(() => acked.every((id) => seen.has(id)), 60_000, 'every acknowledged message at the XMPP user');
    // A write the server had not confirmed before it died is sent again: at least once, never lost.
    const dupes = [...seen.values()].filter((n) => n > 1).length;
    expect(dupes).toBeLessThan(total / 10);
    expect(s.xmpp.counters().reconnects).toBeGreaterThan(0);
    await bob.stop();
  }, 120_000);
});

describe('XMPP presence flood', () => {
  const users = ['f1', 'f2', 'f3', 'f4'];
  const s = useXmppStack({ prosody: { hosts: { 'flood.example': users } }, xmpp: { presenceCoalesceMs: 200 } });

  it('1,000 presence updates/s from one domain for 30 s: coalesced, memory flat', async () => {
    const clients = await Promise.all(users.map((u) => xmppUser(s.prosody, u, 'flood.example', { presence: false })));
    const shows = ['away', 'dnd', 'xa', 'chat'];
    const perTick = 25; // per client per 100 ms: 4 x 250/s = 1,000/s
    const seconds = 30;
    const samples: number[] = [];
    const startForwarded = s.xmpp.counters().presenceForwarded ?? 0;
    for (let tick = 0; tick < seconds * 10; tick++) {
      const started = Date.now();
      await Promise.all(
        clients.map((c, ci) =>
          c.client.write(
            Array.from({ length: perTick }, (_, k) =>
              xml('presence', { to: 'alice@parley.local' }, xml('show', {}, shows[(tick + k + ci) % shows.length] ?? 'away'), xml('status', {}, `s${tick}`)).toString(),
            ).join(''),
          ),
        ),
      );
      if (tick % 50 === 49) samples.push(heapMb());
      const wait = 100 - (Date.now() - started);
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    await until(() => (s.xmpp.counters().presenceIn ?? 0) >= clients.length * perTick * seconds * 10, 30_000, 'every presence seen by the connector');
    const c = s.xmpp.counters();
    const forwarded = (c.presenceForwarded ?? 0) - startForwarded;
    // Coalesced: at most one update per pair per interval reaches the hub.
    expect(forwarded).toBeLessThanOrEqual(clients.length * (seconds * 1000) / 200 + clients.length * 5);
    expect(forwarded).toBeGreaterThan(0);
    expect(c.presencePairs).toBeLessThanOrEqual(clients.length);
    // Flat: the heap at the end is within a few MB of where it was after the first 5 s.
    const first = samples[0] ?? 0;
    const last = samples[samples.length - 1] ?? 0;
    expect(last - first).toBeLessThan(15);
    const teams = s.t.loopback.delivered.filter((d) => d.env.type === 'presence' && d.env.from.domain === 'flood.example');
    await until(() => s.t.loopback.delivered.filter((d) => d.env.type === 'presence' && d.env.from.domain === 'flood.example').length >= forwarded * 0.9, 20_000, 'coalesced presence at Teams');
    expect(teams.length).toBeLessThanOrEqual(forwarded);
    await Promise.all(clients.map((x) => x.stop()));
  }, 120_000);
});
