import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { im, teamsUser, xmppUser } from '../support/hub.ts';
import { useRedisAndParley } from '../support/lifecycle.ts';

const TOTAL = 20_000;
const BATCH = 250;
const STREAM = 'farside';

interface AckBody {
  acks: Array<{ id: string; outcome: string }>;
}

describe('kill -9 of the Parley process mid-run', () => {
  const ctx = useRedisAndParley(STREAM, { PARLEY_DELIVERY_STALLED_INTERVAL_MS: '1000' });

  it('delivers every acknowledged message exactly once after a restart', async () => {
    const all = Array.from({ length: TOTAL }, (_, i) => {
      const c = i % 40;
      return c % 2 ? im(`k${i}`, teamsUser(c), xmppUser(c)) : im(`k${i}`, xmppUser(c), teamsUser(c));
    });
    const acked = new Set<string>();
    let killed = false;

    const sendRound = async (list: typeof all): Promise<void> => {
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < list.length) {
          const batch = list.slice(next, next + BATCH);
          next += BATCH;
          try {
            const res = await fetch(`${ctx.parley.base}/loopback/v1/ingest`, { method: 'POST', body: JSON.stringify(batch), headers: { 'content-type': 'application/json' } });
            if (res.status !== 200) continue;
            const body = (await res.json()) as AckBody;
            for (const a of body.acks) if (a.outcome === 'accepted' || a.outcome === 'duplicate') acked.add(a.id);
          } catch {
            // connection refused or reset: Parley is down; these stay unacknowledged
          }
          if (!killed && acked.size >= TOTAL * 0.4) {
            killed = true;
            await ctx.parley.kill9();
          }
        }
      };
      await Promise.all([worker(), worker(), worker(), worker()]);
    };

    await sendRound(all);
    expect(killed).toBe(true);
    const ackedBeforeCrash = acked.size;
    expect(ackedBeforeCrash).toBeGreaterThanOrEqual(TOTAL * 0.4);
    expect(ackedBeforeCrash).toBeLessThan(TOTAL);

    await ctx.parley.start();
    // A real sender retries what was never acknowledged.
    for (let round = 0; round < 5 && acked.size < TOTAL; round++) await sendRound(all.filter((m) => !acked.has(m.id)));
    expect(acked.size).toBe(TOTAL);

    const r = new Redis(ctx.redis.url);
    const deadline = Date.now() + 90_000;
    while ((await r.xlen(STREAM)) < TOTAL && Date.now() < deadline) await new Promise((res) => setTimeout(res, 200));
    await new Promise((res) => setTimeout(res, 2500));
    const entries = await r.xrange(STREAM, '-', '+');
    const counts = new Map<string, number>();
    for (const [, fields] of entries) {
      const env = JSON.parse(fields[3] as string) as { id: string };
      counts.set(env.id, (counts.get(env.id) ?? 0) + 1);
    }
    r.disconnect();
    const missing = [...acked].filter((id) => !counts.has(id));
    const twice = [...counts].filter(([, n]) => n > 1);
    console.log(`crash test: ${ackedBeforeCrash} acknowledged before kill -9, ${TOTAL} in all; far side holds ${counts.size} distinct, ${entries.length} entries`);
    expect(missing).toEqual([]);
    expect(twice).toEqual([]);
    expect(entries.length).toBe(TOTAL);
  }, 180_000);
});
