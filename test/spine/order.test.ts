import { describe, expect, it } from 'vitest';
import { im, teamsUser, until, xmppUser } from '../support/hub.ts';
import { useRedisAndHub } from '../support/lifecycle.ts';

describe('per-chat order across shards', () => {
  const ctx = useRedisAndHub({ runtime: { shards: 2 } });

  it('keeps 50 chats x 1,000 messages in order on the far side under concurrent load', async () => {
    let counts: { delayed: number; waiting: number; active: number } | undefined;
    const chats = 50;
    const perChat = 1000;
    const sends: Array<Promise<unknown>> = [];
    for (let i = 0; i < perChat; i++) {
      for (let c = 0; c < chats; c++) {
        const from = c % 2 === 0 ? xmppUser(c) : teamsUser(c);
        const to = c % 2 === 0 ? teamsUser(c) : xmppUser(c);
        sends.push(ctx.t.hub.ingest(im(`c${c}-m${i}`, from, to)));
      }
      if (sends.length >= 5000) await Promise.all(sends.splice(0));
    }
    const acks = (await Promise.all(sends)) as Array<{ outcome: string }>;
    expect(acks.every((a) => a.outcome === 'accepted')).toBe(true);
    await until(() => ctx.t.loopback.delivered.length >= chats * perChat, 60_000, 'all deliveries');
    const next = new Map<string, number>();
    for (const d of ctx.t.loopback.delivered) {
      const [chat, m] = d.env.id.split('-m') as [string, string];
      const expected = next.get(chat) ?? 0;
      expect(Number(m), `order in ${chat}`).toBe(expected);
      next.set(chat, expected + 1);
    }
    expect(next.size).toBe(chats);
    expect([...next.values()].every((n) => n === perChat)).toBe(true);
    // The fast path delivered everything and removed the held-back jobs (well before their 5 s hold-back ends).
    await until(() => counts !== undefined && counts.delayed + counts.waiting + counts.active === 0, 2_000, 'held-back jobs removed by the fast path', async () => {
      await ctx.t.hub.collectMetrics();
      const values = (await ctx.t.hub.metrics.queueJobs.get()).values;
      const of = (state: string) => values.find((v) => v.labels.state === state)?.value ?? -1;
      counts = { delayed: of('delayed'), waiting: of('waiting'), active: of('active') };
    });
    const stats = await ctx.t.hub.shards.stats();
    expect(stats).toHaveLength(2);
    expect(stats.every((s) => s.processed > 0)).toBe(true);
    // Group commit: under this load a commit carries ten messages or more on average.
    expect(stats.every((s) => s.commits > 0 && s.commits * 10 < s.processed)).toBe(true);
  });
});
