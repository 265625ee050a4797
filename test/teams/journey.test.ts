import xml from '@xmpp/xml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from '../support/hub.ts';
import { xmppUser, type TestXmppUser } from '../support/xmpp.ts';
import { botPosted, channelText, personal, said, shownText, startJourneyStack, type JourneyStack } from './journey-stack.ts';

/**
 * Issue #4's end-to-end journey: the Bot Connector stand-in plays Teams
 * (signed activities in, the bot's posts recorded), @xmpp/client users on a
 * real Prosody play the other side, and Parley in between runs the real Teams
 * connector, experience and XMPP connector on a real Redis. Each step checks
 * what both sides see. The steps build on each other and share one stack.
 */
const ALICE = 'alice@parley.local';
const BOB = 'ext1@partner.example';
const ROSTER = 'jabber:iq:roster';
const MUC = 'http://jabber.org/protocol/muc';

describe('teams journey: a Teams user and an XMPP user, end to end', () => {
  let s: JourneyStack;
  let bob: TestXmppUser;
  let mallory: TestXmppUser;

  beforeAll(async () => {
    s = await startJourneyStack();
    [bob, mallory] = await Promise.all([xmppUser(s.prosody, 'ext1'), xmppUser(s.prosody, 'mallory', 'blocked.example')]);
  }, 90_000);
  afterAll(async () => {
    await Promise.all([bob?.stop(), mallory?.stop()]);
    await s?.stop();
  });

  const teamsSays = async (a: Record<string, unknown>): Promise<number> => {
    const from = s.stand.sent.length;
    const r = await s.post(a);
    expect(r.status).toBe(200);
    return from;
  };
  const fromAlice = (el: { attrs: Record<string, string> }): boolean => el.attrs.from?.split('/')[0] === ALICE;

  it('add -> the XMPP user gets a subscribe -> accepts -> the Teams user sees the acceptance', async () => {
    const from = await teamsSays(said(s.stand, `add ${BOB}`));
    const reply = await botPosted(s.stand, (p) => shownText(p).includes('Contact request sent'), 'add answered', from);
    expect(shownText(reply)).toContain(BOB);
    const sub = await bob.waitFor((el) => el.name === 'presence' && el.attrs.type === 'subscribe' && fromAlice(el), 'subscribe');
    expect(sub.attrs.from).toBe(ALICE);

    const n = s.stand.sent.length;
    await bob.client.send(xml('presence', { to: ALICE, type: 'subscribed' }));
    const acc = await botPosted(s.stand, (p) => shownText(p).includes('accepted your contact request'), 'acceptance shown', n);
    expect(acc.conversationId).toBe('a:1personal-alice');
    // Bob's server records the subscription to Alice.
    const push = await bob.waitFor((el) => el.name === 'iq' && el.getChild('query', ROSTER)?.getChild('item')?.attrs.jid === ALICE && el.getChild('query', ROSTER)?.getChild('item')?.attrs.subscription === 'from', 'roster push');
    expect(push).toBeDefined();
    // Like a real client, Bob asks back; Alice already has him, so Parley accepts without a card.
    await bob.client.send(xml('presence', { to: ALICE, type: 'subscribe' }));
    await bob.waitFor((el) => el.name === 'presence' && el.attrs.type === 'subscribed' && fromAlice(el), 'subscribed back');
  }, 60_000);

  it('chat both ways: Teams text and HTML reach the XMPP body; an XMPP message shows with its sender', async () => {
    await teamsSays(said(s.stand, `chat ${BOB}`));
    await teamsSays(said(s.stand, 'hello Bob'));
    const m = await bob.waitFor((el) => el.name === 'message' && el.getChildText('body') === 'hello Bob', 'plain message');
    expect(m.attrs).toMatchObject({ from: expect.stringMatching(/^alice@parley\.local/), type: 'chat' });
    await teamsSays(
      personal(s.stand, { type: 'message', text: 'the report is ready', textFormat: 'plain', attachments: [{ contentType: 'text/html', content: '<p>the <b>report</b> is ready</p>' }] }),
    );
    const rich = await bob.waitFor((el) => el.name === 'message' && el.getChildText('body')?.includes('report') === true && el.getChildText('body') !== 'hello Bob', 'HTML message');
    expect(rich.getChildText('body')).toBe('the *report* is ready');

    const n = s.stand.sent.length;
    await bob.client.send(xml('message', { to: ALICE, type: 'chat', id: 'bob-1' }, xml('body', {}, 'hi Alice, got it')));
    const post = await botPosted(s.stand, (p) => shownText(p).includes('hi Alice, got it'), 'XMPP message posted', n);
    expect(post.conversationId).toBe('a:1personal-alice');
    expect(shownText(post)).toContain(BOB);
  }, 60_000);
});
