import { describe, expect, it } from 'vitest';
import type { Envelope } from '../../src/core/envelope.ts';
import { im, until } from '../support/hub.ts';
import { alice, ext, useXmppStack, xmppUser, type TestXmppUser } from '../support/xmpp.ts';

/** Sends `n` messages from alice to ext1 in batches, several batches in flight, as a busy chat does; returns the acknowledged ids. */
async function burst(s: ReturnType<typeof useXmppStack>, prefix: string, n: number, during?: (i: number) => Promise<void>): Promise<string[]> {
  const acked: string[] = [];
  const inflight: Array<Promise<void>> = [];
  for (let i = 0; i < n; i += 200) {
    await during?.(i);
    const envs: Envelope[] = Array.from({ length: Math.min(200, n - i) }, (_, k) => im(`${prefix}${i + k}`, alice, ext('ext1')));
    inflight.push(
      s.t.hub.ingestMany(envs).then((acks) => {
        acks.forEach((a, k) => a.outcome === 'accepted' && acked.push(envs[k]?.id ?? ''));
      }),
    );
    if (inflight.length >= 4) await inflight.shift();
  }
  await Promise.all(inflight);
  return acked;
}

/** Message ids (without Parley's `parley:` prefix) a user receives, in arrival order. */
function arrivals(u: TestXmppUser, prefix: string, into: string[]): void {
  u.client.on('stanza', (el: { name: string; attrs: Record<string, string> }) => {
    const id = el.attrs.id?.replace(/^parley:/, '');
    if (el.name === 'message' && id?.startsWith(prefix)) into.push(id);
  });
}

/** The index of each id's first arrival must rise with its number: no message overtook an earlier one. */
function firstArrivalsInOrder(ids: readonly string[], prefix: string): number[] {
  const seen = new Set<string>();
  const order: number[] = [];
  for (const id of ids) {
    if (seen.has(id)) continue;
    seen.add(id);
    order.push(Number(id.slice(prefix.length)));
  }
  return order;
}

describe("one chat's overlapping deliveries to XMPP", () => {
  const s = useXmppStack({ prosody: { hosts: { 'partner.example': ['ext1'] } } });

  it('start while earlier ones await the server, and arrive in order', async () => {
    const bob = await xmppUser(s.prosody, 'ext1');
    const got: string[] = [];
    arrivals(bob, 'ov-', got);
    const before = s.xmpp.counters().overlappedCalls ?? 0;
    const acked = await burst(s, 'ov-', 4_000);
    expect(acked).toHaveLength(4_000);
    await until(() => got.length >= 4_000, 60_000, 'every message at the XMPP user');
    expect(firstArrivalsInOrder(got, 'ov-')).toEqual(Array.from({ length: 4_000 }, (_, i) => i));
    expect(got).toHaveLength(4_000);
    expect((s.xmpp.counters().overlappedCalls ?? 0) - before).toBeGreaterThan(0);
    await bob.stop();
  }, 120_000);

  it('keep their order across a Prosody kill: a lost write is sent again before anything written after it', async () => {
    let bob = await xmppUser(s.prosody, 'ext1');
    const got: string[] = [];
    arrivals(bob, 'kill-', got);
    const before = s.xmpp.counters().overlappedCalls ?? 0;
    let killed = false;
    const acked = await burst(s, 'kill-', 6_000, async (i) => {
      if (killed || i < 3_000) return;
      killed = true;
      await s.prosody.kill('SIGKILL');
      await until(() => s.xmpp.status().state !== 'up', 10_000, 'link down');
      await s.prosody.restart();
    });
    expect(killed).toBe(true);
    expect(acked).toHaveLength(6_000);
    await s.xmpp.waitOnline(20_000);
    await bob.stop().catch(() => undefined);
    bob = await xmppUser(s.prosody, 'ext1');
    arrivals(bob, 'kill-', got);
    await until(() => new Set(got).size >= 6_000, 90_000, 'every acknowledged message at the XMPP user');
    expect(firstArrivalsInOrder(got, 'kill-')).toEqual(Array.from({ length: 6_000 }, (_, i) => i));
    expect((s.xmpp.counters().overlappedCalls ?? 0) - before).toBeGreaterThan(0);
    expect(s.xmpp.counters().reconnects).toBeGreaterThan(0);
    await bob.stop();
  }, 180_000);
});
