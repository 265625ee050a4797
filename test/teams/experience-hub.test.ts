import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Activity } from 'botbuilder';
import type { Envelope } from '../../src/core/envelope.ts';
import type { OutboundPlan } from '../../src/connectors/teams/contract.ts';
import { startTestHub, until, type TestHub } from '../support/hub.ts';
import { startExperience, teamsUser, text, turn, type ExperienceFixture } from './experience-support.ts';

/**
 * The experience in front of a real hub (actors, policy, queues on Redis),
 * playing the transport's part: ingest a turn's envelopes, reply with the
 * acks; render what the hub delivers to Teams, ingest the follow-ups.
 */
const alice = teamsUser('alice', 'Alice');
const BOB = { platform: 'xmpp' as const, id: 'bob@partner.example', domain: 'partner.example', name: 'Bob' };
const ALICE = { platform: 'teams' as const, id: 'alice@parley.local', domain: 'parley.local' };

let f: ExperienceFixture;
let h: TestHub;
const shown: OutboundPlan[] = [];
let rendered = 0;
let seq = 0;

beforeAll(async () => {
  f = await startExperience({ domain: 'parley.local', roomsDomain: undefined });
  h = await startTestHub(f.server.url, { federation: { domains: [{ domain: 'blocked.example', action: 'block' }] } });
  // The transport's outbound half: Teams deliveries are rendered, shown, recorded; follow-ups ingested.
  h.loopback.onDelivered((ds) => {
    void (async () => {
      for (const d of ds) {
        if (d.env.to.platform !== 'teams') continue;
        const p = await f.exp.render(d.env);
        if (p) {
          shown.push(p);
          await f.exp.recordSent(d.env, p, `bot-${++seq}`);
        }
        const more = await f.exp.followUps(d.env);
        if (more.length) await h.hub.ingestMany(more);
        rendered++;
      }
    })();
  });
});
afterAll(async () => {
  await h?.stop();
  await f?.stop();
});

async function say(a: Activity): Promise<string[]> {
  const plan = await f.exp.handle(turn(a, alice.member));
  const acks = await h.hub.ingestMany(plan.envelopes);
  return plan.replies(acks).map((r) => String(r.text ?? JSON.stringify(r.attachments)));
}

const toXmpp = (pred: (e: Envelope) => boolean) => h.loopback.delivered.filter((d) => d.env.to.platform === 'xmpp' && pred(d.env));

describe('the experience in front of a real hub', () => {
  it('add -> accept -> chat; the contact sees a real request and the user the answer', async () => {
    expect((await say(text(alice, 'add bob@partner.example')))[0]).toContain('Contact request sent');
    await until(() => toXmpp((e) => e.type === 'contact-request').length === 1, 10_000, 'request delivered');
    await h.hub.ingest({ type: 'contact-response', id: 'x:bob/1', ts: Date.now(), from: BOB, to: ALICE, decision: 'accepted' } satisfies Envelope);
    await until(() => shown.some((p) => p.activity.text?.includes('accepted your contact request') === true), 10_000, 'acceptance shown');
    await say(text(alice, 'chat bob@partner.example'));
    await say(text(alice, 'hello Bob'));
    await until(() => toXmpp((e) => e.type === 'im').length === 1, 10_000, 'message delivered');
  });

  it('a blocked domain: the user is told at once, nothing leaves, and the later error stays quiet', async () => {
    const before = h.loopback.delivered.length;
    const r = await say(text(alice, 'add eve@blocked.example'));
    expect(r[0]).toContain('blocked');
    const n = rendered;
    await until(() => rendered > n, 10_000, 'error envelope delivered to Teams');
    expect(h.loopback.delivered.slice(before).some((d) => d.env.to.platform === 'xmpp')).toBe(false);
    expect(shown.some((p) => p.activity.text?.includes('eve@blocked.example') === true)).toBe(false);
  });

  it("an external profile request is answered with the Teams user's profile", async () => {
    await h.hub.ingest({ type: 'profile-request', id: 'xq:bob@partner.example/v1', ts: Date.now(), from: BOB, to: ALICE } satisfies Envelope);
    await until(() => toXmpp((e) => e.type === 'profile-response').length === 1, 10_000, 'profile answer');
    expect(toXmpp((e) => e.type === 'profile-response')[0]?.env).toMatchObject({ replyTo: 'xq:bob@partner.example/v1', profile: { displayName: 'Alice', email: 'alice@contoso.com' } });
  });
});
