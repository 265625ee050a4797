import { beforeEach, describe, expect, it } from 'vitest';
import type { DeliveryItem, DeliveryResult } from '../../src/core/connector.ts';
import type { Envelope } from '../../src/core/envelope.ts';
import { im, teamsUser, until, xmppUser } from '../support/hub.ts';
import { useRedisAndHub } from '../support/lifecycle.ts';

const down: DeliveryResult = { ok: false, error: { code: 'DELIVERY_UNAVAILABLE', message: 'far side down', retryable: true } };

describe('delivery retries, failures and policy', () => {
  const ctx = useRedisAndHub({ runtime: { shards: 2 }, delivery: { attempts: 4 } });
  beforeEach(() => ctx.t.loopback.setFault(undefined));

  const deliveredIds = (): string[] => ctx.t.loopback.delivered.map((d) => d.env.id);

  it('delivers exactly once after the destination fails three times, attempts counted', async () => {
    const attempts: number[] = [];
    ctx.t.loopback.setFault((item: DeliveryItem) => {
      if (item.env.id !== 'flaky-1') return undefined;
      attempts.push(item.attempt);
      return item.attempt < 3 ? down : undefined;
    });
    const ack = await ctx.t.hub.ingest(im('flaky-1', teamsUser(1), xmppUser(1)));
    expect(ack.outcome).toBe('accepted');
    await until(() => deliveredIds().includes('flaky-1'), 10_000, 'flaky delivery');
    await new Promise((r) => setTimeout(r, 300));
    expect(deliveredIds().filter((id) => id === 'flaky-1')).toHaveLength(1);
    expect(attempts).toEqual([0, 1, 2, 3]);
    const row = ctx.t.sink.events.find((e) => e.messageId === 'flaky-1');
    expect(row?.outcome).toBe('delivered');
  });

  it('tells the sender with an error envelope when the destination keeps failing', async () => {
    ctx.t.loopback.setFault((item) => (item.env.id === 'dead-1' ? down : undefined));
    const sender = teamsUser(2);
    const ack = await ctx.t.hub.ingest(im('dead-1', sender, xmppUser(2)));
    expect(ack.outcome).toBe('accepted');
    await until(() => ctx.t.loopback.delivered.some((d) => d.env.type === 'error' && d.env.target === 'dead-1'), 10_000, 'error envelope');
    const err = ctx.t.loopback.delivered.find((d) => d.env.type === 'error' && d.env.target === 'dead-1')?.env;
    expect(err?.to).toEqual(sender);
    expect(err?.type === 'error' && err.code).toBe('UNDELIVERABLE');
    expect(deliveredIds()).not.toContain('dead-1');
    expect(ctx.t.sink.events.find((e) => e.messageId === 'dead-1')).toMatchObject({ outcome: 'failed', reason: 'DELIVERY_UNAVAILABLE' });
  });

  it('does not retry a permanent refusal and passes its reason to the sender', async () => {
    let calls = 0;
    ctx.t.loopback.setFault((item) => {
      if (item.env.id !== 'unknown-1') return undefined;
      calls++;
      return { ok: false, error: { code: 'RECIPIENT_UNKNOWN', message: 'no such user', retryable: false } };
    });
    await ctx.t.hub.ingest(im('unknown-1', teamsUser(3), xmppUser(3)));
    await until(() => ctx.t.loopback.delivered.some((d) => d.env.type === 'error' && d.env.target === 'unknown-1'), 10_000, 'error');
    const err = ctx.t.loopback.delivered.find((d) => d.env.type === 'error' && d.env.target === 'unknown-1')?.env;
    expect(err?.type === 'error' && err.code).toBe('RECIPIENT_UNKNOWN');
    expect(calls).toBe(1);
  });

  it('gives a typing notification one try: no retry, nothing back to its sender, the chat goes on', async () => {
    let calls = 0;
    ctx.t.loopback.setFault((item) => {
      if (item.env.id !== 'typ-1') return undefined;
      calls++;
      return down;
    });
    const from = xmppUser(7);
    const to = teamsUser(7);
    const typing = { type: 'typing', id: 'typ-1', ts: Date.now(), from, to, state: 'composing' } satisfies Envelope;
    expect((await ctx.t.hub.ingest(typing)).outcome).toBe('accepted');
    expect((await ctx.t.hub.ingest(im('typ-msg', from, to))).outcome).toBe('accepted');
    await until(() => deliveredIds().includes('typ-msg'), 10_000, 'the message after the typing notification');
    await until(() => ctx.t.sink.events.some((e) => e.messageId === 'typ-1'), 5_000, 'the typing notification\'s row');
    await new Promise((r) => setTimeout(r, 500));
    expect(calls).toBe(1);
    expect(ctx.t.loopback.delivered.some((d) => d.env.type === 'error' && d.env.target === 'typ-1')).toBe(false);
    expect(ctx.t.sink.events.find((e) => e.messageId === 'typ-1')).toMatchObject({ outcome: 'failed', reason: 'DELIVERY_UNAVAILABLE' });
  });

  it('drops a typing notification that is stale by the time it could go out', async () => {
    const from = xmppUser(8);
    const to = teamsUser(8);
    const stale = { type: 'typing', id: 'typ-old', ts: Date.now() - 60_000, from, to, state: 'composing' } satisfies Envelope;
    expect((await ctx.t.hub.ingest(stale)).outcome).toBe('accepted');
    expect((await ctx.t.hub.ingest(im('typ-old-msg', from, to))).outcome).toBe('accepted');
    await until(() => deliveredIds().includes('typ-old-msg'), 10_000, 'the message after the stale typing notification');
    await until(() => ctx.t.sink.events.some((e) => e.messageId === 'typ-old'), 5_000, 'the stale notification\'s row');
    expect(deliveredIds()).not.toContain('typ-old');
    expect(ctx.t.loopback.delivered.some((d) => d.env.type === 'error' && d.env.target === 'typ-old')).toBe(false);
    expect(ctx.t.sink.events.find((e) => e.messageId === 'typ-old')).toMatchObject({ outcome: 'failed', reason: 'EXPIRED' });
  });

  it('honours the retry-after a destination gives', async () => {
    const seen: number[] = [];
    ctx.t.loopback.setFault((item) => {
      if (item.env.id !== 'slow-1') return undefined;
      seen.push(Date.now());
      return item.attempt === 0 ? { ok: false, error: { code: 'RATE_LIMITED', message: '429', retryable: true, retryAfterMs: 700 } } : undefined;
    });
    await ctx.t.hub.ingest(im('slow-1', teamsUser(4), xmppUser(4)));
    await until(() => deliveredIds().includes('slow-1'), 10_000, 'slow delivery');
    expect(seen).toHaveLength(2);
    expect((seen[1] as number) - (seen[0] as number)).toBeGreaterThanOrEqual(690);
  });

  it('keeps a chat in order while one of its messages waits out retries', async () => {
    ctx.t.loopback.setFault((item) => (item.env.id === 'ord-0' && item.attempt < 2 ? down : undefined));
    const from = teamsUser(5);
    const to = xmppUser(5);
    await Promise.all([0, 1, 2, 3, 4].map((i) => ctx.t.hub.ingest(im(`ord-${i}`, from, to))));
    await until(() => deliveredIds().includes('ord-4'), 10_000, 'ordered chat');
    expect(deliveredIds().filter((id) => id.startsWith('ord-'))).toEqual(['ord-0', 'ord-1', 'ord-2', 'ord-3', 'ord-4']);
  });

  it('blocks a domain: the sender is told, nothing leaves, a blocked metadata row is written, on every shard at once', async () => {
    await ctx.t.hub.policy.update((p) => ({ ...p, domains: [...p.domains, { domain: 'blocked.example', action: 'block', kind: 'partner' }] }));
    await new Promise((r) => setTimeout(r, 200));
    const ids = Array.from({ length: 20 }, (_, i) => `blk-${i}`);
    const acks = await Promise.all(ids.map((id, i) => ctx.t.hub.ingest(im(id, teamsUser(100 + i), xmppUser(i, 'chat.blocked.example')))));
    expect(acks.map((a) => a.outcome)).toEqual(ids.map(() => 'blocked'));
    expect(acks[0]?.error?.code).toBe('POLICY_DOMAIN_BLOCKED');
    await until(() => ctx.t.loopback.delivered.filter((d) => d.env.type === 'error' && d.env.target?.startsWith('blk-')).length === 20, 10_000, 'block notices');
    expect(deliveredIds().filter((id) => id.startsWith('blk-'))).toEqual([]);
    const rows = ctx.t.sink.events.filter((e) => e.messageId.startsWith('blk-'));
    expect(rows).toHaveLength(20);
    expect(rows.every((r) => r.outcome === 'blocked' && r.reason === 'POLICY_DOMAIN_BLOCKED')).toBe(true);
    // Inbound from the blocked domain is refused too.
    const inbound = await ctx.t.hub.ingest(im('blk-in', xmppUser(1, 'blocked.example'), teamsUser(1)));
    expect(inbound.outcome).toBe('blocked');
  });

  it('drops a redelivered envelope id and rejects malformed envelopes with clear errors', async () => {
    const env = im('dup-1', xmppUser(6), teamsUser(6));
    expect((await ctx.t.hub.ingest(env)).outcome).toBe('accepted');
    expect((await ctx.t.hub.ingest(env)).outcome).toBe('duplicate');
    await until(() => deliveredIds().includes('dup-1'), 10_000, 'dup');
    await new Promise((r) => setTimeout(r, 200));
    expect(deliveredIds().filter((id) => id === 'dup-1')).toHaveLength(1);

    const bad = await ctx.t.hub.ingest({ type: 'im', id: 'bad-1', ts: -5, from: { platform: 'fax', id: 'x', domain: 'x' } });
    expect(bad.outcome).toBe('rejected');
    expect(bad.error?.code).toBe('ENVELOPE_INVALID');
    expect(bad.error?.message).toMatch(/ts/);
    expect(bad.error?.message).toMatch(/from\.platform/);
    expect(bad.error?.message).toMatch(/to/);
    for (const junk of [null, 42, 'im', [], { type: 'nope' }]) {
      expect((await ctx.t.hub.ingest(junk)).outcome).toBe('rejected');
    }
  });

  it('refuses ids with a lone surrogate instead of taking the second of two for a redelivery of the first', async () => {
    // As UTF-8 (in keys) both ids read "ls-\uFFFD": the second would have been dropped as a duplicate.
    for (const id of ['ls-\uD800', 'ls-\uDBFF']) {
      const r = await ctx.t.hub.ingest(im(id, xmppUser(7), teamsUser(7)));
      expect(r.outcome).toBe('rejected');
      expect(r.error?.code).toBe('ENVELOPE_INVALID');
      expect(r.error?.message).toMatch(/\bid: contains a lone surrogate/);
    }
    const emoji = 'ls-\uD83D\uDE00';
    expect((await ctx.t.hub.ingest(im(emoji, xmppUser(7), teamsUser(7)))).outcome).toBe('accepted');
    await until(() => deliveredIds().includes(emoji), 10_000, 'emoji id');
  });

  it('keeps message content encrypted in Redis and removes the job once delivered', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    const marker = 'SECRET-MARKER-7f3a';
    ctx.t.loopback.setFault((item) => (item.env.id === 'enc-1' && item.attempt === 0 ? down : undefined));
    const origDeliver = ctx.t.loopback.deliver.bind(ctx.t.loopback);
    ctx.t.loopback.deliver = async (items) => {
      if (items.some((i) => i.env.id === 'enc-1')) await gate;
      return origDeliver(items);
    };
    try {
      await ctx.t.hub.ingest(im('enc-1', teamsUser(7), xmppUser(7), marker));
      const { Redis } = await import('ioredis');
      const r = new Redis(ctx.redis.url);
      const keys = await r.keys('*');
      let stored = '';
      const jobs: Array<{ v: number; n: number; c: string }> = [];
      for (const k of keys) {
        const type = await r.type(k);
        if (type === 'hash') {
          const h = await r.hgetall(k);
          stored += JSON.stringify(h);
          if (/:deliver-loopback:[^:]+$/.test(k) && h.data) jobs.push(JSON.parse(h.data) as { v: number; n: number; c: string });
        } else if (type === 'string') stored += (await r.getBuffer(k))?.toString('latin1') ?? '';
      }
      expect(jobs.length).toBeGreaterThan(0);
      expect(jobs.every((j) => j.v === 1 && typeof j.c === 'string' && j.c.length > 0)).toBe(true);
      expect(stored).not.toContain(marker);
      expect(stored).not.toContain(Buffer.from(marker).toString('base64').slice(0, 12));
      release();
      await until(() => deliveredIds().includes('enc-1'), 10_000, 'enc delivery');
      await new Promise((res) => setTimeout(res, 200));
      const after: string[] = [];
      for (const k of await r.keys('*:deliver-loopback:*')) if ((await r.type(k)) === 'hash' && (await r.hexists(k, 'data'))) after.push(k);
      expect(after).toEqual([]);
      r.disconnect();
    } finally {
      release();
      ctx.t.loopback.deliver = origDeliver;
    }
  });
});
