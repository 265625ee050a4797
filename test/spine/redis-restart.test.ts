import { describe, expect, it } from 'vitest';
import type { IngestAck } from '../../src/core/connector.ts';
import { im, teamsUser, until, xmppUser } from '../support/hub.ts';
import { useRedisAndHub } from '../support/lifecycle.ts';

describe('Redis killed -9 and restarted from its AOF mid-run', () => {
  const ctx = useRedisAndHub({ runtime: { shards: 2 } });

  it('loses no acknowledged message and reconnects without a restart', async () => {
    const total = 20_000;
    const acked: string[] = [];
    const pending: Array<Promise<IngestAck>> = [];
    let killedAt = -1;
    let restartedAt = -1;
    for (let i = 0; i < total; i++) {
      const c = i % 30;
      const env = c % 2 ? im(`r${i}`, teamsUser(c), xmppUser(c)) : im(`r${i}`, xmppUser(c), teamsUser(c));
      pending.push(ctx.t.hub.ingest(env).then((a) => {
        if (a.outcome === 'accepted') acked.push(a.id);
        return a;
      }));
      if (pending.length >= 1000) await Promise.all(pending.splice(0));
      if (i === 8000) {
        killedAt = acked.length;
        await ctx.redis.server.kill('SIGKILL');
        // Ingest goes on while Redis is down: these calls wait, they are not refused.
        setTimeout(() => {
          restartedAt = acked.length;
          void ctx.redis.server.restart();
        }, 1500);
      }
    }
    const acks = await Promise.all(pending);
    expect(acks.every((a) => a.outcome === 'accepted')).toBe(true);
    expect(acked).toHaveLength(total);
    expect(killedAt).toBeGreaterThan(0);
    // Nothing can be acknowledged while Redis is down.
    expect(restartedAt).toBe(killedAt);

    const seen = new Map<string, number>();
    await until(() => new Set(ctx.t.loopback.delivered.map((d) => d.env.id)).size >= total, 90_000, 'all acknowledged messages delivered');
    for (const d of ctx.t.loopback.delivered) seen.set(d.env.id, (seen.get(d.env.id) ?? 0) + 1);
    const missing = acked.filter((id) => !seen.has(id));
    expect(missing).toEqual([]);
    const dup = [...seen.values()].filter((n) => n > 1).length;
    console.log(`redis restart: ${killedAt} acknowledged before the kill, ${total} in all, ${dup} delivered twice (in flight at the kill)`);
    expect(ctx.t.hub.readiness().redis).toBe('ready');
  }, 180_000);
});
