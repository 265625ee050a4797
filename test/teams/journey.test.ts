import xml from '@xmpp/xml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from '../support/hub.ts';
import { xmppUser, type TestXmppUser } from '../support/xmpp.ts';
import { botPosted, CHANNEL, channelText, personal, said, shownText, startJourneyStack, type JourneyStack } from './journey-stack.ts';

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
    expect(s.stand.sent.slice(n).filter((p) => shownText(p).includes('Action.Submit'))).toEqual([]);
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

  it('presence both ways: `status away` reaches the XMPP user; their presence shows in the contacts card', async () => {
    const from = await teamsSays(said(s.stand, 'status away at lunch'));
    const pres = await bob.waitFor((el) => el.name === 'presence' && fromAlice(el) && el.getChildText('show') === 'away', 'Alice away');
    expect(pres.getChildText('status')).toBe('at lunch');
    const told = await botPosted(s.stand, (p) => /away/i.test(shownText(p)), 'status answered', from);
    expect(shownText(told)).toMatch(/1 contact/);

    await bob.client.send(xml('presence', {}, xml('show', {}, 'dnd'), xml('status', {}, 'in a meeting')));
    let card = '';
    await until(
      () => card.includes('in a meeting'),
      15_000,
      "Bob's presence in the contacts card",
      async () => {
        const n = await teamsSays(said(s.stand, 'contacts'));
        card = shownText(await botPosted(s.stand, (p) => Array.isArray(p.activity.attachments) && shownText(p).includes(BOB), 'contacts card', n));
      },
    );
    expect(card).toContain('🔴');
  }, 60_000);

  it('typing both ways', async () => {
    await teamsSays(personal(s.stand, { type: 'typing' }));
    const ty = await bob.waitFor((el) => el.name === 'message' && fromAlice(el) && el.getChild('composing', 'http://jabber.org/protocol/chatstates') !== undefined, 'composing');
    expect(ty.getChild('body')).toBeUndefined();

    const n = s.stand.sent.length;
    await bob.client.send(xml('message', { to: ALICE, type: 'chat' }, xml('composing', { xmlns: 'http://jabber.org/protocol/chatstates' })));
    const post = await botPosted(s.stand, (p) => p.activity.type === 'typing', 'typing shown', n);
    expect(post.conversationId).toBe('a:1personal-alice');
  }, 30_000);

  it('reactions both ways: a Teams reaction becomes XEP-0444; an XMPP reaction a bot message', async () => {
    const shown = s.stand.sent.find((p) => shownText(p).includes('hi Alice, got it'));
    expect(shown).toBeDefined();
    await teamsSays(personal(s.stand, { type: 'messageReaction', replyToId: shown?.id, reactionsAdded: [{ type: 'like' }] }));
    const r = await bob.waitFor((el) => el.name === 'message' && fromAlice(el) && el.getChild('reactions', 'urn:xmpp:reactions:0') !== undefined, 'reaction');
    const reactions = r.getChild('reactions', 'urn:xmpp:reactions:0');
    expect(reactions?.attrs.id).toBe('bob-1');
    expect(reactions?.getChildren('reaction').map((x) => x.text())).toEqual(['👍']);

    const target = bob.stanzas.find((el) => el.name === 'message' && el.getChildText('body') === 'hello Bob');
    expect(target?.attrs.id).toBeTruthy();
    const n = s.stand.sent.length;
    await bob.client.send(xml('message', { to: ALICE, type: 'chat', id: 'bob-r1' }, xml('reactions', { xmlns: 'urn:xmpp:reactions:0', id: target?.attrs.id }, xml('reaction', {}, '❤️')), xml('store', { xmlns: 'urn:xmpp:hints' })));
    const post = await botPosted(s.stand, (p) => shownText(p).includes('reacted ❤️'), 'reaction shown', n);
    expect(shownText(post)).toContain('hello Bob');
  }, 30_000);

  it('edit and delete: Teams messageUpdate -> XEP-0308 correction, messageDelete -> XEP-0424 retraction', async () => {
    const orig = said(s.stand, 'meeting at 10');
    await teamsSays(orig);
    const m = await bob.waitFor((el) => el.name === 'message' && el.getChildText('body') === 'meeting at 10', 'original');
    const stanzaId = m.attrs.id;
    expect(stanzaId).toBeTruthy();

    await teamsSays(personal(s.stand, { type: 'messageUpdate', id: orig.id, text: 'meeting at 11', textFormat: 'plain', channelData: { eventType: 'editMessage', tenant: { id: 'tenant-1' } } }));
    const corr = await bob.waitFor((el) => el.name === 'message' && el.getChild('replace', 'urn:xmpp:message-correct:0') !== undefined, 'correction');
    expect(corr.getChild('replace', 'urn:xmpp:message-correct:0')?.attrs.id).toBe(stanzaId);
    expect(corr.getChildText('body')).toBe('meeting at 11');
    // Teams gives every edit of a message the message's id: a second edit is a new correction, a redelivery is not.
    const edit2 = personal(s.stand, { type: 'messageUpdate', id: orig.id, timestamp: new Date(Date.now() + 1000).toISOString(), text: 'meeting at 12', textFormat: 'plain', channelData: { eventType: 'editMessage', tenant: { id: 'tenant-1' } } });
    await teamsSays(edit2);
    await teamsSays(edit2);
    await bob.waitFor((el) => el.name === 'message' && el.getChildText('body') === 'meeting at 12', 'second correction');
    const corrections = (): number => bob.stanzas.filter((el) => el.getChild('replace', 'urn:xmpp:message-correct:0') !== undefined).length;
    await new Promise((r) => setTimeout(r, 500));
    expect(corrections()).toBe(2);

    await teamsSays(personal(s.stand, { type: 'messageDelete', id: orig.id, channelData: { eventType: 'softDeleteMessage', tenant: { id: 'tenant-1' } } }));
    const ret = await bob.waitFor((el) => el.name === 'message' && el.getChild('retract', 'urn:xmpp:message-retract:1') !== undefined, 'retraction');
    expect(ret.getChild('retract', 'urn:xmpp:message-retract:1')?.attrs.id).toBe(stanzaId);
    expect(fromAlice(ret)).toBe(true);
  }, 30_000);

  it('file link: a Teams file attachment reaches XMPP as a Parley link that streams from SharePoint', async () => {
    const content = Buffer.from('quarterly numbers ✓\n'.repeat(500));
    s.sharepoint.files.set('/sites/contoso/report.txt', content);
    await teamsSays(
      personal(s.stand, {
        type: 'message',
        attachments: [{ contentType: 'application/vnd.microsoft.teams.file.download.info', contentUrl: 'https://contoso.sharepoint.com/personal/alice/Documents/report.txt', name: 'report.txt', content: { downloadUrl: `${s.sharepoint.base}/sites/contoso/report.txt`, uniqueId: '1150D938-8870-4044-9F2C-5BBDEBA70C9D', fileType: 'txt' } }],
      }),
    );
    const m = await bob.waitFor((el) => el.name === 'message' && el.getChild('x', 'jabber:x:oob') !== undefined, 'OOB link');
    const url = m.getChild('x', 'jabber:x:oob')?.getChildText('url') ?? '';
    expect(url.startsWith(`${s.base}/files?t=`)).toBe(true);
    expect(url).not.toContain(s.sharepoint.base);
    const hitsBefore = s.sharepoint.hits.length;
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer()).equals(content)).toBe(true);
    expect(s.sharepoint.hits.slice(hitsBefore)).toEqual(['/sites/contoso/report.txt']);
    // A tampered link is refused.
    expect((await fetch(url.slice(0, -2) + (url.endsWith('AA') ? 'BB' : 'AA'))).status).toBe(403);
  }, 30_000);

  it("profile both ways: Teams `profile` shows the XMPP user's vCard; an XMPP vCard request gets the Teams user's name", async () => {
    await bob.client.iqCaller.request(xml('iq', { type: 'set' }, xml('vCard', { xmlns: 'vcard-temp' }, xml('FN', {}, 'Bob Partner'), xml('NICKNAME', {}, 'bobby'))));
    const from = await teamsSays(said(s.stand, `profile ${BOB}`));
    const card = await botPosted(s.stand, (p) => shownText(p).includes('Bob Partner'), 'profile card', from);
    expect(shownText(card)).toContain(BOB);

    const vc = await bob.client.iqCaller.request(xml('iq', { type: 'get', to: ALICE }, xml('vCard', { xmlns: 'vcard-temp' })), 15_000);
    expect(vc.getChild('vCard', 'vcard-temp')?.getChildText('FN')).toBe('Alice Smith');
    // Bob is an accepted contact, so he also gets her email; someone who is not gets only the name.
    expect(vc.getChild('vCard', 'vcard-temp')?.getChild('EMAIL')?.getChildText('USERID')).toBe('alice@contoso.com');
    const carol = await xmppUser(s.prosody, 'ext2');
    try {
      const vc2 = await carol.client.iqCaller.request(xml('iq', { type: 'get', to: ALICE }, xml('vCard', { xmlns: 'vcard-temp' })), 15_000);
      expect(vc2.getChild('vCard', 'vcard-temp')?.getChildText('FN')).toBe('Alice Smith');
      expect(vc2.getChild('vCard', 'vcard-temp')?.getChild('EMAIL')).toBeUndefined();
    } finally {
      await carol.stop();
    }
  }, 30_000);

  let room = '';
  it('channel invite: `invite` in a channel sends the XMPP user a XEP-0249 invitation to the room', async () => {
    const from = await teamsSays(channelText(s.stand, `invite ${BOB} weekly sync`));
    const reply = await botPosted(s.stand, (p) => shownText(p).includes('Invited'), 'invite answered', from);
    expect(reply.conversationId.startsWith(CHANNEL)).toBe(true);
    const inv = await bob.waitFor((el) => el.name === 'message' && el.getChild('x', 'jabber:x:conference') !== undefined, 'invitation');
    const x = inv.getChild('x', 'jabber:x:conference');
    room = x?.attrs.jid ?? '';
    expect(room).toMatch(/@rooms\.parley\.local$/);
    expect(x?.attrs.reason).toBe('weekly sync');
    expect(fromAlice(inv)).toBe(true);
  }, 30_000);

  it('room chat both ways: channel messages to Parley reach the room; room messages show in the channel', async () => {
    await bob.client.send(xml('presence', { to: `${room}/Bob` }, xml('x', { xmlns: MUC })));
    await bob.waitFor((el) => el.name === 'presence' && el.attrs.from === `${room}/Bob` && el.attrs.type !== 'error', 'joined the room');
    await teamsSays(channelText(s.stand, 'agenda for today'));
    const m = await bob.waitFor((el) => el.name === 'message' && el.attrs.type === 'groupchat' && el.getChildText('body') === 'agenda for today', 'Teams message in the room');
    expect(m.attrs.from).toBe(`${room}/Alice Smith`);

    const n = s.stand.sent.length;
    await bob.client.send(xml('message', { to: room, type: 'groupchat', id: 'room-1' }, xml('body', {}, 'sounds good')));
    const post = await botPosted(s.stand, (p) => shownText(p).includes('sounds good'), 'room message in the channel', n);
    expect(post.conversationId.startsWith(CHANNEL)).toBe(true);
    expect(shownText(post)).toContain(BOB);
  }, 30_000);

  it('remove contact: the XMPP user gets unsubscribe/unsubscribed and loses Alice from the roster', async () => {
    const from = await teamsSays(said(s.stand, `remove ${BOB}`));
    await botPosted(s.stand, (p) => /remov/i.test(shownText(p)) && shownText(p).includes(BOB), 'remove answered', from);
    await bob.waitFor((el) => el.name === 'presence' && fromAlice(el) && (el.attrs.type === 'unsubscribe' || el.attrs.type === 'unsubscribed'), 'unsubscribe');
    await until(
      () => bob.stanzas.some((el) => el.name === 'iq' && el.getChild('query', ROSTER)?.getChild('item')?.attrs.jid === ALICE && ['none', 'remove'].includes(el.getChild('query', ROSTER)?.getChild('item')?.attrs.subscription ?? '')),
      15_000,
      'roster no longer shares presence with Alice',
    );
  }, 30_000);

  it('a blocked domain: the Teams user is told clearly and nothing reaches the XMPP server', async () => {
    const before = mallory.stanzas.length;
    const from = await teamsSays(said(s.stand, 'add mallory@blocked.example'));
    const reply = await botPosted(s.stand, (p) => shownText(p).includes('mallory@blocked.example'), 'refusal', from);
    expect(shownText(reply)).toContain('Could not send a contact request to mallory@blocked.example: blocked by your organisation');
    const n = await teamsSays(said(s.stand, '@mallory@blocked.example are you there'));
    const refused = await botPosted(s.stand, (p) => shownText(p).includes('mallory@blocked.example'), 'message refusal', n);
    expect(shownText(refused)).toContain('was not sent: blocked by your organisation');
    await new Promise((r) => setTimeout(r, 1000));
    expect(mallory.stanzas.slice(before)).toEqual([]);
    expect(s.t.sink.events.filter((e) => e.receiverDomain === 'blocked.example' && e.outcome === 'delivered')).toEqual([]);
  }, 30_000);
});
