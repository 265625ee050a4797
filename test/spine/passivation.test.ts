import { describe, expect, it } from 'vitest';
import { im, teamsUser, until, xmppUser } from '../support/hub.ts';
import { useRedisAndHub } from '../support/lifecycle.ts';

const N = 1_000_000;
const MB = 1024 * 1024;

describe('idle actors: a million resident, then passivated', () => {
  const ctx = useRedisAndHub({ runtime: { shards: 2 } });

  const heap = async (): Promise<number> => (await ctx.t.hub.shards.stats(true)).reduce((s, x) => s + x.heapUsed, 0);

  it('keeps memory bounded while resident and returns it after passivation; a passivated actor revives with its state', async () => {
    // One real conversation first, so one actor has state worth reviving.
    const a = teamsUser('keep');
    const b = xmppUser('keep');
    for (let i = 0; i < 3; i++) await ctx.t.hub.ingest(im(`keep-${i}`, a, b));
    await until(() => ctx.t.loopback.delivered.length >= 3, 10_000, 'warm-up deliveries');

    const baseline = await heap();
    const keys = Array.from({ length: N }, (_, i) => (i % 2 ? `user:teams:u${i}@parley.local` : `chat:p:20:teams:u${i}@parley.local|xmpp:x${i}@p.example`));
    await ctx.t.hub.shards.spawnActors(keys);
    const stats = await ctx.t.hub.shards.stats(true);
    const resident = stats.reduce((s, x) => s + x.resident, 0);
    const residentHeap = stats.reduce((s, x) => s + x.heapUsed, 0);
    const perActor = (residentHeap - baseline) / N;

    const started = Date.now();
    const passivated = await ctx.t.hub.shards.passivate(true);
    const passivationMs = Date.now() - started;
    const after = await heap();
    const left = (await ctx.t.hub.shards.stats()).reduce((s, x) => s + x.resident, 0);
    console.log(
      `idle actors: baseline ${(baseline / MB).toFixed(1)} MB, ${resident} resident ${(residentHeap / MB).toFixed(1)} MB ` +
        `(${perActor.toFixed(0)} B/actor), after passivating ${passivated} in ${passivationMs} ms: ${(after / MB).toFixed(1)} MB`,
    );
    expect(resident).toBeGreaterThanOrEqual(N);
    expect(perActor).toBeLessThanOrEqual(1024);
    expect(passivated).toBeGreaterThanOrEqual(N);
    expect(left).toBe(0);
    expect(after).toBeLessThan(baseline + 32 * MB);

    // The conversation actor was passivated too: it revives from Redis and still drops a redelivered id.
    expect((await ctx.t.hub.ingest(im('keep-2', a, b))).outcome).toBe('duplicate');
    expect((await ctx.t.hub.ingest(im('keep-3', a, b))).outcome).toBe('accepted');
    await until(() => ctx.t.loopback.delivered.some((d) => d.env.id === 'keep-3'), 10_000, 'revived delivery');
  }, 240_000);
});
