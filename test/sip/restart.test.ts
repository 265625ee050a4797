import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SipConnector } from '../../src/connectors/sip/index.ts';
import { connectRedis } from '../../src/state/redis.ts';
import { startTestHub, teamsUser, until, type TestHub } from '../support/hub.ts';
import { Kamailio } from '../support/kamailio.ts';
import { startTestRedis, type TestRedis } from '../support/redis.ts';
import { acceptingWatcherTarget, registerUser, sippAnswer, Sipp, sipConnectorFor } from '../support/sip.ts';
import { sipUser } from '../support/sip-env.ts';

describe('SIP presence across a Parley restart', () => {
  let edge: Kamailio;
  let redis: TestRedis;
  let t: TestHub | undefined;
  const keyPrefix = `siprestart${process.pid}`;

  const start = async (): Promise<{ t: TestHub; sip: SipConnector }> => {
    // With the Redis book that outlives the process.
    const sip = sipConnectorFor(edge, {}, { redis: connectRedis(redis.url, 'sip-restart-test'), keyPrefix });
    const hub = await startTestHub(redis.url, { runtime: { shards: 2 }, redis: { keyPrefix } }, { loopbackPlatforms: ['teams'], connectors: [sip] });
    await until(() => sip.status().state === 'up', 15_000, 'sip connector up');
    return { t: hub, sip };
  };

  beforeAll(async () => {
    edge = await Kamailio.start();
    redis = await startTestRedis();
  });
  afterAll(async () => {
    await t?.stop();
    await redis?.stop();
    await edge?.destroy();
  });

  it('an accepted contact keeps flowing: after the restart Parley subscribes again and the contact presence reaches Teams', async () => {
    const dave = await Sipp.create();
    try {
      dave.start(acceptingWatcherTarget('dave', 'call [call_number]'), ['-m', '2']);
      registerUser(edge, 'dave', 'partner.example', dave.port);
      const first = await start();
      t = first.t;
      await first.t.hub.ingest({ type: 'contact-request', id: 'cr-r1', ts: Date.now(), from: teamsUser(20), to: sipUser('dave') });
      const presenceTo = (h: TestHub) => h.loopback.delivered.filter((d) => d.env.to.id === 'user20@parley.local' && d.env.type === 'presence').map((d) => d.env);
      await until(() => presenceTo(first.t).length > 0, 10_000, 'first presence of dave');
      expect(presenceTo(first.t)[0]).toMatchObject({ show: 'away', status: 'call 1' });
      await first.t.hub.ingest({ type: 'presence', id: 'pres-r1', ts: Date.now(), from: teamsUser(20), to: sipUser('dave'), show: 'dnd', status: 'Busy' });
      await until(() => first.t.sink.events.some((e) => e.messageId === 'pres-r1' && e.outcome === 'delivered'), 10_000, 'PUBLISH done');

      await first.t.stop();
      t = undefined;
      const second = await start();
      t = second.t;
      await until(() => presenceTo(second.t).length > 0, 15_000, 'presence of dave after the restart');
      expect(presenceTo(second.t)[0]).toMatchObject({ show: 'away', status: 'call 2', from: sipUser('dave') });
      expect(await dave.wait(10_000)).toBe(0);
      expect(dave.messages().match(/^SUBSCRIBE sip:dave@/gm)?.length).toBe(2);
      // The Teams user's publication is kept for the next restart too.
      const r = connectRedis(redis.url, 'check');
      expect(JSON.parse((await r.hget(`${keyPrefix}:sip:publications`, 'sip:user20@parley.local')) ?? '{}')).toEqual({ show: 'dnd', status: 'Busy' });
      r.disconnect();
    } finally {
      await dave.stop();
    }
  });

  it('a declined request is not kept for the next restart; the accepted one is', async () => {
    const eve = await Sipp.create();
    try {
      eve.start(`<recv request="SUBSCRIBE"/>${sippAnswer(603, 'Decline')}`, ['-m', '1']);
      registerUser(edge, 'eve', 'partner.example', eve.port);
      const h = t as TestHub;
      await h.hub.ingest({ type: 'contact-request', id: 'cr-r2', ts: Date.now(), from: teamsUser(21), to: sipUser('eve') });
      await until(() => h.loopback.delivered.some((d) => d.env.type === 'contact-response' && d.env.to.id === 'user21@parley.local'), 10_000, 'answer from eve');
      const r = connectRedis(redis.url, 'check2');
      const watches = await r.hkeys(`${keyPrefix}:sip:watches`);
      r.disconnect();
      expect(watches).toEqual(['user20@parley.local>dave@partner.example']);
    } finally {
      await eve.stop();
    }
  });
});
