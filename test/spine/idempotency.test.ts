import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { RECENT_IDS } from '../../actors/common.ts';
import { idempotencyKey } from '../../src/delivery/items.ts';
import { markKey } from '../../src/delivery/idempotency.ts';
import { im, teamsUser, until, xmppUser } from '../support/hub.ts';
import { useRedisAndHub } from '../support/lifecycle.ts';

const PREFIX = `idem${process.pid}`;

describe('fast path idempotency', () => {
  const ctx = useRedisAndHub({ runtime: { shards: 2 }, redis: { keyPrefix: PREFIX } });
  const count = (id: string): number => ctx.t.loopback.delivered.filter((d) => d.env.id === id).length;

  it('does not deliver an item whose key was already marked delivered when its job was stored', async () => {
    const env = im('marked-1', teamsUser(40), xmppUser(40));
    const r = new Redis(ctx.redis.url);
    try {
      await r.set(markKey(PREFIX, idempotencyKey(env)), '1', 'EX', 60);
    } finally {
      r.disconnect();
    }
    expect((await ctx.t.hub.ingest(env)).outcome).toBe('accepted');
    // A later message of the same chat is delivered after it, in order: by then the first had its turn.
    await ctx.t.hub.ingest(im('marked-2', teamsUser(40), xmppUser(40)));
    await until(() => count('marked-2') === 1, 10_000, 'second message');
    expect(count('marked-1')).toBe(0);
  });

  it('delivers once an envelope sent again after the chat has forgotten its id', async () => {
    const from = teamsUser(41);
    const to = xmppUser(41);
    await ctx.t.hub.ingest(im('again-1', from, to));
    await until(() => count('again-1') === 1, 10_000, 'first delivery');
    for (let i = 0; i < RECENT_IDS + 2; i++) await ctx.t.hub.ingest(im(`filler-${i}`, from, to));
    // The chat no longer remembers the id: it is accepted again, and the delivery mark stops it.
    expect((await ctx.t.hub.ingest(im('again-1', from, to))).outcome).toBe('accepted');
    await ctx.t.hub.ingest(im('again-last', from, to));
    await until(() => count('again-last') === 1, 10_000, 'last message');
    await new Promise((r) => setTimeout(r, 200));
    expect(count('again-1')).toBe(1);
  });
});
