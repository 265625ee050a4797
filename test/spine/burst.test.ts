import { describe, expect, it } from 'vitest';
import { im, teamsUser, until, xmppUser } from '../support/hub.ts';
import { useRedisAndHub } from '../support/lifecycle.ts';

const JOB = 100;
const BURST = 1_000;

describe('a burst into one shard', () => {
  const ctx = useRedisAndHub({ runtime: { shards: 1 }, delivery: { batchMaxItems: JOB } });

  it('is stored and acknowledged in parts, in order, not as one commit at its end', async () => {
    const from = teamsUser(1);
    const to = xmppUser(1);
    // The chat's actor is resident: a cold actor would take the whole burst in while its state loads.
    expect((await ctx.t.hub.ingest(im('warm', from, to))).outcome).toBe('accepted');
    await until(() => ctx.t.loopback.delivered.length === 1, 10_000, 'the warm-up delivery');

    const commitsBefore = (await ctx.t.hub.shards.stats())[0]?.commits ?? NaN;
    const acks: Array<Promise<{ outcome: string }>> = [];
    for (let i = 0; i < BURST; i++) acks.push(ctx.t.hub.ingest(im(`b-${i}`, from, to)));
    const outcomes = await Promise.all(acks);
    expect(outcomes.every((a) => a.outcome === 'accepted')).toBe(true);
    // Sent in one turn, the burst used to be stepped whole and stored by one commit. Now its
    // first part (PART_ITEMS) is committed at once, and the rest while (and after) it is in flight.
    const commits = ((await ctx.t.hub.shards.stats())[0]?.commits ?? NaN) - commitsBefore;
    expect(commits).toBeGreaterThanOrEqual(2);
    expect(commits).toBeLessThanOrEqual(BURST / JOB);

    await until(() => ctx.t.loopback.delivered.length === BURST + 1, 30_000, 'the burst delivered');
    const ids = ctx.t.loopback.delivered.slice(1).map((d) => d.env.id);
    expect(ids).toEqual(Array.from({ length: BURST }, (_, i) => `b-${i}`));
  });
});
