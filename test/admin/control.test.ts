import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Envelope } from '../../src/core/envelope.ts';
import { queueName } from '../../src/delivery/items.ts';
import { im, teamsUser, until, xmppUser } from '../support/hub.ts';
import { startTestRedis, type TestRedis } from '../support/redis.ts';
import { setupAdmin, startRig, type AdminRig, type SessionHandle } from './support.ts';

describe('admin API controls the running hub', () => {
  let redis: TestRedis;
  let rig: AdminRig;
  let admin: SessionHandle;
  let prefix: string;

  beforeAll(async () => {
    redis = await startTestRedis();
    rig = await startRig(redis.url);
    admin = (await setupAdmin(rig)).session;
    prefix = (rig.hub.hub as unknown as { config: { redis: { keyPrefix: string } } }).config.redis.keyPrefix;
  });
  afterAll(async () => {
    await rig?.stop();
    await redis?.stop();
  });

  const delivered = (pred: (e: Envelope) => boolean): Envelope[] => rig.hub.loopback.delivered.map((d) => d.env).filter(pred);

  it('blocking a domain refuses its messages at once, on every shard, without a restart; unblocking lets them through', async () => {
    const from = xmppUser(1, 'blocked.example');
    const before = await rig.hub.hub.ingest(im('pre-block', from, teamsUser(1)));
    expect(before.outcome).toBe('accepted');
    const res = await rig.call('POST', '/federations', { session: admin, body: { domain: 'blocked.example', action: 'block', kind: 'partner', label: 'Blocked Inc' } });
    expect(res.status).toBe(201);
    // Shards apply the change as they receive the broadcast; every user's actor (spread over shards) must refuse.
    await new Promise((r) => setTimeout(r, 300));
    const acks = await Promise.all(Array.from({ length: 16 }, (_, i) => rig.hub.hub.ingest(im(`post-block-${i}`, xmppUser(i, 'blocked.example'), teamsUser(i)))));
    expect(acks.map((a) => a.outcome)).toEqual(Array(16).fill('blocked'));
    expect(delivered((e) => e.type === 'im' && e.id.startsWith('post-block'))).toEqual([]);
    const audit = (await rig.call('GET', '/audit?action=federation.create', { session: admin })).json<{ entries: Array<{ target: string; before: unknown; after: { action: string } }> }>();
    expect(audit.entries[0]).toMatchObject({ target: 'blocked.example', before: null, after: { action: 'block', label: 'Blocked Inc' } });

    expect((await rig.call('PUT', '/federations?domain=blocked.example', { session: admin, body: { action: 'allow' } })).status).toBe(200);
    await new Promise((r) => setTimeout(r, 300));
    expect((await rig.hub.hub.ingest(im('post-unblock', from, teamsUser(1)))).outcome).toBe('accepted');
    expect((await rig.call('DELETE', '/federations?domain=blocked.example', { session: admin })).status).toBe(200);
    expect((await rig.call('DELETE', '/federations?domain=blocked.example', { session: admin })).status).toBe(404);
    expect((await rig.call('POST', '/federations', { session: admin, body: { domain: 'Not A Domain', action: 'block' } })).status).toBe(400);
  });

  it('lists users with search and paging, and turns one user\'s federation off and on', async () => {
    const r = new Redis(redis.url);
    try {
      const { RedisUserDirectory } = await import('../../src/state/user-directory.ts');
      const dir = new RedisUserDirectory(r, prefix);
      for (let i = 0; i < 12; i++) await dir.upsert({ id: `user${i}@parley.local`, platform: 'teams', domain: 'parley.local', name: i === 7 ? 'Grace Hopper' : `User ${i}`, email: `u${i}@corp.example` });
    } finally {
      r.disconnect();
    }
    const page = (await rig.call('GET', '/users?offset=10&limit=5', { session: admin })).json<{ total: number; users: Array<{ id: string }> }>();
    expect(page.total).toBe(12);
    expect(page.users).toHaveLength(2);
    const found = (await rig.call('GET', '/users?q=hopper', { session: admin })).json<{ total: number; users: Array<{ id: string; name: string; federationEnabled: boolean }> }>();
    expect(found.users).toEqual([expect.objectContaining({ id: 'user7@parley.local', name: 'Grace Hopper', federationEnabled: true })]);

    const off = await rig.call('PUT', '/users/federation?id=user7@parley.local', { session: admin, body: { enabled: false } });
    expect(off.json()).toMatchObject({ federationEnabled: false });
    await new Promise((r2) => setTimeout(r2, 300));
    expect((await rig.hub.hub.ingest(im('to-disabled', xmppUser(3), teamsUser(7)))).outcome).toBe('blocked');
    expect((await rig.call('PUT', '/users/federation?id=user7@parley.local', { session: admin, body: { enabled: true } })).status).toBe(200);
    await new Promise((r2) => setTimeout(r2, 300));
    expect((await rig.hub.hub.ingest(im('to-enabled', xmppUser(3), teamsUser(7)))).outcome).toBe('accepted');
    expect((await rig.call('PUT', '/users/federation?id=nobody@parley.local', { session: admin, body: { enabled: false } })).status).toBe(404);
  });

  it('lists a user\'s contacts from the actor state and revokes one: the external side is unsubscribed, the user is told', async () => {
    const me = teamsUser(2);
    const asked = xmppUser(20);
    const asker = xmppUser(21);
    const env = (e: Record<string, unknown>): Envelope => ({ ...e, ts: Date.now() }) as Envelope;
    expect((await rig.hub.hub.ingest(env({ type: 'contact-request', id: 'cr1', from: me, to: asked }))).outcome).toBe('accepted');
    expect((await rig.hub.hub.ingest(env({ type: 'contact-response', id: 'cr1-ok', from: asked, to: me, decision: 'accepted' }))).outcome).toBe('accepted');
    expect((await rig.hub.hub.ingest(env({ type: 'contact-request', id: 'cr2', from: asker, to: me }))).outcome).toBe('accepted');
    const r = new Redis(redis.url);
    try {
      const { RedisUserDirectory } = await import('../../src/state/user-directory.ts');
      await new RedisUserDirectory(r, prefix).upsert({ id: me.id, platform: 'teams', domain: 'parley.local', name: 'Two' });
    } finally {
      r.disconnect();
    }
    const list = (await rig.call('GET', `/users/contacts?id=${me.id}`, { session: admin })).json<{ contacts: Array<Record<string, unknown>> }>();
    expect(list.contacts).toEqual([
      expect.objectContaining({ address: asked.id, platform: 'xmpp', domain: 'partner.example', state: 'accepted', askedFirst: 'user' }),
      expect.objectContaining({ address: asker.id, platform: 'xmpp', state: 'pending-in', askedFirst: 'contact' }),
    ]);
    const revoke = await rig.call('POST', '/users/contacts/revoke', { session: admin, body: { user: me.id, platform: 'xmpp', address: asked.id } });
    expect(revoke.status).toBe(200);
    expect(revoke.json()).toMatchObject({ revoked: true, outcome: 'accepted' });
    await until(() => delivered((e) => e.type === 'contact-response' && e.decision === 'removed' && e.to.id === asked.id).length === 1, 10_000, 'unsubscription');
    await until(() => delivered((e) => e.type === 'error' && e.code === 'CONTACT_REVOKED' && e.to.id === me.id).length === 1, 10_000, 'notice');
    const after = (await rig.call('GET', `/users/contacts?id=${me.id}`, { session: admin })).json<{ contacts: Array<{ address: string }> }>();
    expect(after.contacts.map((c) => c.address)).toEqual([asker.id]);
    expect((await rig.call('POST', '/users/contacts/revoke', { session: admin, body: { user: me.id, platform: 'xmpp', address: asked.id } })).status).toBe(404);
    const audit = (await rig.call('GET', '/audit?action=contact.revoke', { session: admin })).json<{ entries: Array<{ target: string }> }>();
    expect(audit.entries[0]?.target).toBe(`${me.id} -> xmpp:${asked.id}`);
  });

  it('revoking a contact in a domain the policy now blocks still unsubscribes the external side and tells the user', async () => {
    const me = teamsUser(3);
    const peer = xmppUser(30, 'cut.example');
    const env = (e: Record<string, unknown>): Envelope => ({ ...e, ts: Date.now() }) as Envelope;
    expect((await rig.hub.hub.ingest(env({ type: 'contact-request', id: 'cut-1', from: me, to: peer }))).outcome).toBe('accepted');
    expect((await rig.hub.hub.ingest(env({ type: 'contact-response', id: 'cut-1-ok', from: peer, to: me, decision: 'accepted' }))).outcome).toBe('accepted');
    expect((await rig.call('POST', '/federations', { session: admin, body: { domain: 'cut.example', action: 'block', kind: 'partner' } })).status).toBe(201);
    await new Promise((r) => setTimeout(r, 300));
    // The block holds for the user and the partner alike...
    expect((await rig.hub.hub.ingest(im('cut-im', me, peer))).outcome).toBe('blocked');
    // ...but the administrator's revocation is Parley's own decision and goes through.
    const revoke = await rig.call('POST', '/users/contacts/revoke', { session: admin, body: { user: me.id, platform: 'xmpp', address: peer.id } });
    expect(revoke.json()).toMatchObject({ revoked: true, outcome: 'accepted' });
    await until(() => delivered((e) => e.type === 'contact-response' && e.decision === 'removed' && e.to.id === peer.id).length === 1, 10_000, 'unsubscription');
    await until(() => delivered((e) => e.type === 'error' && e.code === 'CONTACT_REVOKED' && e.to.id === me.id).length === 1, 10_000, 'notice');
    expect(delivered((e) => e.id === 'cut-im')).toEqual([]);
    expect((await rig.call('DELETE', '/federations?domain=cut.example', { session: admin })).status).toBe(200);
  });

  it('shows connector state and queue depths, and dead letters by metadata only, with replay and discard', async () => {
    const q = new Queue(queueName('loopback'), { connection: new Redis(redis.url, { maxRetriesPerRequest: null }), prefix });
    try {
      // A job whose payload cannot be opened fails for good: a dead letter.
      for (const id of ['dl-1', 'dl-2']) await q.add('deliver', { v: 9, n: 3, c: 'SECRET-CONTENT' }, { jobId: id });
      let dead: { total: number; deadLetters: Array<Record<string, unknown>> } = { total: 0, deadLetters: [] };
      await until(() => dead.total === 2, 20_000, 'dead letters', async () => {
        dead = (await rig.call('GET', '/dead-letters?connector=loopback', { session: admin })).json();
      });
      expect(dead.deadLetters[0]).toMatchObject({ connector: 'loopback', items: 3 });
      expect(JSON.stringify(dead)).not.toContain('SECRET-CONTENT');
      const conns = (await rig.call('GET', '/connectors', { session: admin })).json<{ connectors: Array<{ name: string; state: string; queue: { failed: number } }> }>();
      expect(conns.connectors).toEqual([expect.objectContaining({ name: 'loopback', state: 'up', queue: expect.objectContaining({ failed: 2 }) })]);

      const discard = await rig.call('POST', '/dead-letters/discard', { session: admin, body: { connector: 'loopback', ids: ['dl-1', 'nope'] } });
      expect(discard.json()).toEqual({ done: 1, missing: ['nope'] });
      expect(await q.getJob('dl-1')).toBeUndefined();
      const replay = await rig.call('POST', '/dead-letters/replay', { session: admin, body: { connector: 'loopback', ids: ['dl-2'] } });
      expect(replay.json()).toEqual({ done: 1, missing: [] });
      // Replayed, it fails again (the payload is still unreadable) and is back among the dead letters with one more attempt.
      let again: { deadLetters: Array<{ id: string; attempts: number }> } = { deadLetters: [] };
      await until(() => (again.deadLetters[0]?.attempts ?? 0) >= 2, 20_000, 'replayed job failing again', async () => {
        again = (await rig.call('GET', '/dead-letters', { session: admin })).json();
      });
      const audit = (await rig.call('GET', '/audit?action=deadletter.discard', { session: admin })).json<{ total: number }>();
      expect(audit.total).toBe(1);
    } finally {
      await q.close();
    }
  });
});
