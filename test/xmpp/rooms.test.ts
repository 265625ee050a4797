import xml from '@xmpp/xml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Envelope } from '../../src/core/envelope.ts';
import { toPlainText } from '../../src/core/richtext.ts';
import { alice, ext, useXmppStack, waitTeams, xmppUser, type TestXmppUser } from '../support/xmpp.ts';

const MUC = 'http://jabber.org/protocol/muc';
const MUC_USER = 'http://jabber.org/protocol/muc#user';
const CHAT = '19:project-x@thread.tacv2';
const roomAddr = { platform: 'xmpp' as const, id: CHAT, domain: 'rooms.parley.local' };

describe('Teams channel bridged to a members-only XMPP room', () => {
  const s = useXmppStack();
  let bob: TestXmppUser;
  let carol: TestXmppUser;
  let dave: TestXmppUser;
  let room = '';
  beforeAll(async () => {
    [bob, carol, dave] = await Promise.all([xmppUser(s.prosody, 'ext1'), xmppUser(s.prosody, 'ext2'), xmppUser(s.prosody, 'ext3')]);
  });
  afterAll(async () => {
    await Promise.all([bob?.stop(), carol?.stop(), dave?.stop()]);
  });

  const join = (u: TestXmppUser, nick: string): Promise<void> => u.client.send(xml('presence', { to: `${room}/${nick}` }, xml('x', { xmlns: MUC })));

  it('sends an XEP-0249 invitation for the room that bridges the Teams chat', async () => {
    await s.t.hub.ingest({ type: 'invite', id: 'inv-1', ts: Date.now(), from: alice, to: ext('ext1'), chatId: CHAT, room: { id: CHAT, name: 'Project X' }, reason: 'weekly sync' } satisfies Envelope);
    await s.t.hub.ingest({ type: 'invite', id: 'inv-2', ts: Date.now(), from: alice, to: ext('ext2'), chatId: CHAT, room: { id: CHAT, name: 'Project X' } } satisfies Envelope);
    const inv = await bob.waitFor((el) => el.getChild('x', 'jabber:x:conference') !== undefined, 'invitation');
    room = inv.getChild('x', 'jabber:x:conference')?.attrs.jid ?? '';
    expect(room).toMatch(/^t[0-9a-f]{24}@rooms\.parley\.local$/);
    expect(inv.getChild('x', 'jabber:x:conference')?.attrs.reason).toBe('weekly sync');
    expect(inv.attrs.from).toBe('alice@parley.local');
  });

  it('keeps out someone who was not invited (members-only)', async () => {
    await join(dave, 'Dave');
    const err = await dave.waitFor((el) => el.name === 'presence' && el.attrs.type === 'error', 'join refused');
    expect(err.getChild('error')?.getChild('registration-required', 'urn:ietf:params:xml:ns:xmpp-stanzas')).toBeDefined();
  });

  it('lets members join: occupants see each other, self-presence carries 110, the subject comes last', async () => {
    await join(bob, 'Bob');
    const self = await bob.waitFor((el) => el.name === 'presence' && el.attrs.from === `${room}/Bob` && el.getChild('x', MUC_USER)?.getChildren('status').some((st) => st.attrs.code === '110') === true, 'self presence');
    expect(self.getChild('x', MUC_USER)?.getChild('item')?.attrs).toMatchObject({ affiliation: 'member', role: 'participant' });
    const subject = await bob.waitFor((el) => el.name === 'message' && el.attrs.type === 'groupchat' && el.getChild('subject') !== undefined, 'subject');
    expect(subject.getChildText('subject')).toBe('Project X');
    await join(carol, 'Carol');
    await carol.waitFor((el) => el.name === 'presence' && el.attrs.from === `${room}/Bob`, 'existing occupant');
    await bob.waitFor((el) => el.name === 'presence' && el.attrs.from === `${room}/Carol`, 'new occupant');
  });

  it('carries Teams messages into the room and room messages to the Teams chat', async () => {
    await s.t.hub.ingest({ type: 'im', id: 'teams-room-1', ts: Date.now(), chatId: CHAT, from: alice, to: roomAddr, body: { blocks: [{ t: 'p', c: [{ t: 'text', v: 'agenda', marks: ['bold'] }] }] } } satisfies Envelope);
    for (const u of [bob, carol]) {
      const m = await u.waitFor((el) => el.attrs.id === 'parley:teams-room-1', 'Teams message in the room');
      expect(m.attrs).toMatchObject({ type: 'groupchat', from: `${room}/Alice` });
      expect(m.getChildText('body')).toBe('*agenda*');
    }
    await bob.client.send(xml('message', { to: room, type: 'groupchat', id: 'room-msg-1' }, xml('body', {}, 'hello room')));
    const env = await waitTeams(s.t, (e) => e.id === 'x:ext1@partner.example/room-msg-1');
    expect(env).toMatchObject({ type: 'im', chatId: CHAT, from: { platform: 'xmpp', id: 'ext1@partner.example', name: 'Bob' }, to: { platform: 'teams', id: CHAT, domain: 'rooms.parley.local' } });
    expect(toPlainText((env as Extract<Envelope, { type: 'im' }>).body)).toBe('hello room');
    // Reflected to every occupant, the sender included.
    await carol.waitFor((el) => el.attrs.id === 'room-msg-1' && el.attrs.from === `${room}/Bob`, 'reflection to carol');
    await bob.waitFor((el) => el.attrs.id === 'room-msg-1' && el.attrs.from === `${room}/Bob`, 'reflection to bob');
  });

  it('refuses groupchat from someone not in the room', async () => {
    await dave.client.send(xml('message', { to: room, type: 'groupchat', id: 'dave-1' }, xml('body', {}, 'sneaky')));
    await dave.waitFor((el) => el.attrs.id === 'dave-1' && el.attrs.type === 'error', 'not an occupant');
    expect(s.t.loopback.delivered.some((d) => d.env.id.endsWith('/dave-1'))).toBe(false);
  });

  it('changes the subject and lets members leave', async () => {
    await carol.client.send(xml('message', { to: room, type: 'groupchat', id: 'subj-1' }, xml('subject', {}, 'Release planning')));
    await bob.waitFor((el) => el.attrs.id === 'subj-1' && el.getChildText('subject') === 'Release planning', 'subject change');
    await carol.client.send(xml('presence', { to: `${room}/Carol`, type: 'unavailable' }));
    await bob.waitFor((el) => el.name === 'presence' && el.attrs.type === 'unavailable' && el.attrs.from === `${room}/Carol`, 'carol left');
    const info = await bob.client.iqCaller.request(xml('iq', { type: 'get', to: room }, xml('query', { xmlns: 'http://jabber.org/protocol/disco#info' })));
    const features = info.getChild('query')?.getChildren('feature').map((f) => f.attrs.var) ?? [];
    expect(features).toEqual(expect.arrayContaining([MUC, 'muc_membersonly', 'muc_nonanonymous']));
    expect(info.getChild('query')?.getChild('identity')?.attrs).toMatchObject({ category: 'conference', name: 'Project X' });
  });
});
