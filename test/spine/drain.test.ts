import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { im, teamsUser, xmppUser } from '../support/hub.ts';
import { useRedisAndParley } from '../support/lifecycle.ts';

describe('graceful drain on SIGTERM', () => {
  const ctx = useRedisAndParley('drained');

  it('acknowledges or refuses every request, exits 0, and loses nothing it acknowledged', async () => {
    const acked = new Set<string>();
    const statuses = new Map<number, number>();
    let stopped = false;
    let exitCode: number | null = null;
    const exited = new Promise<void>((resolve) =>
      ctx.parley.child?.once('exit', (code) => {
        exitCode = code;
        resolve();
      }),
    );
    let n = 0;
    const sender = async (): Promise<void> => {
      while (!stopped) {
        const batch = Array.from({ length: 100 }, () => {
          const i = n++;
          return im(`d${i}`, i % 2 ? teamsUser(i % 10) : xmppUser(i % 10), i % 2 ? xmppUser(i % 10) : teamsUser(i % 10));
        });
        try {
          const res = await fetch(`${ctx.parley.base}/loopback/v1/ingest`, { method: 'POST', body: JSON.stringify(batch) });
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          if (res.status === 200) {
            const body = (await res.json()) as { acks: Array<{ id: string; outcome: string; error?: { code: string } }> };
            for (const a of body.acks) {
              if (a.outcome === 'accepted') acked.add(a.id);
              else expect(a.error?.code).toBe('SHUTTING_DOWN');
            }
          }
        } catch {
          stopped = true; // the listener is gone
        }
      }
    };
    const senders = [sender(), sender(), sender()];
    while (acked.size < 3000) await new Promise((r) => setTimeout(r, 20));
    const t0 = Date.now();
    ctx.parley.child?.kill('SIGTERM');
    await exited;
    const drainMs = Date.now() - t0;
    stopped = true;
    await Promise.all(senders);
    expect(exitCode).toBe(0);
    expect(drainMs).toBeLessThan(20_000);
    expect([...statuses.keys()].every((s) => s === 200 || s === 503)).toBe(true);

    // Whatever was acknowledged is delivered, by this run or the next one.
    await ctx.parley.start();
    const r = new Redis(ctx.redis.url);
    const deadline = Date.now() + 60_000;
    let ids = new Set<string>();
    while (Date.now() < deadline) {
      ids = new Set((await r.xrange('drained', '-', '+')).map(([, f]) => (JSON.parse(f[3] as string) as { id: string }).id));
      if ([...acked].every((id) => ids.has(id))) break;
      await new Promise((res) => setTimeout(res, 200));
    }
    r.disconnect();
    console.log(`drain: ${acked.size} acknowledged, drained in ${drainMs} ms, far side holds ${ids.size}`);
    expect([...acked].filter((id) => !ids.has(id))).toEqual([]);
  }, 120_000);
});
