import xml from '@xmpp/xml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Envelope } from '../../src/core/envelope.ts';
import { im, until } from '../support/hub.ts';
import { alice, ext, useXmppStack, waitTeams, xmppUser, type TestXmppUser } from '../support/xmpp.ts';

const ROSTER = 'jabber:iq:roster';

describe('XMPP contacts, presence, profiles, disco and errors through a real Prosody', () => {
  const s = useXmppStack({ config: { federation: { domains: [{ domain: 'blocked.example', action: 'block' }] } } });
  let bob: TestXmppUser;
  let carol: TestXmppUser;
  beforeAll(async () => {
    bob = await xmppUser(s.prosody, 'ext1');
    carol = await xmppUser(s.prosody, 'ext2');
  });
  afterAll(async () => {
    await bob?.stop();
    await carol?.stop();
  });

  it('turns a roster subscription into a contact request, and an accept into subscribed + subscribe', async () => {
    await bob.client.send(xml('presence', { to: 'alice@parley.local', type: 'subscribe', id: 'sub-1' }, xml('status', {}, 'Bob from Partner')));
    const req = await waitTeams(s.t, (e) => e.type === 'contact-request' && e.from.id === 'ext1@partner.example');
    expect(req).toMatchObject({ to: { id: 'alice@parley.local' }, message: 'Bob from Partner' });

    await s.t.hub.ingest({ type: 'contact-response', id: 'acc-1', ts: Date.now(), from: alice, to: ext('ext1'), decision: 'accepted' } satisfies Envelope);
    // Prosody turns our subscribed into a roster push: bob now sees alice's presence.
    const push = await bob.waitFor((el) => el.name === 'iq' && el.getChild('query', ROSTER)?.getChild('item')?.attrs.subscription === 'to', 'roster push');
    expect(push.getChild('query', ROSTER)?.getChild('item')?.attrs.jid).toBe('alice@parley.local');
    // And alice asks back: bob's client sees a subscribe from alice.
    await bob.waitFor((el) => el.name === 'presence' && el.attrs.type === 'subscribe' && el.attrs.from === 'alice@parley.local', 'subscribe back');
    await bob.client.send(xml('presence', { to: 'alice@parley.local', type: 'subscribed' }));
    await waitTeams(s.t, (e) => e.type === 'contact-response' && e.decision === 'accepted' && e.from.id === 'ext1@partner.example');
  });

  it('sends a Teams contact request as subscribe and reports a decline as declined', async () => {
    await s.t.hub.ingest({ type: 'contact-request', id: 'req-2', ts: Date.now(), from: alice, to: ext('ext2'), message: 'Hi Carol' } satisfies Envelope);
    const sub = await carol.waitFor((el) => el.name === 'presence' && el.attrs.type === 'subscribe', 'subscribe');
    expect(sub.attrs.from).toBe('alice@parley.local');
    expect(sub.getChildText('status')).toBe('Hi Carol');
    await carol.client.send(xml('presence', { to: 'alice@parley.local', type: 'unsubscribed' }));
    const resp = await waitTeams(s.t, (e) => e.type === 'contact-response' && e.from.id === 'ext2@partner.example');
    expect(resp).toMatchObject({ decision: 'declined', to: { id: 'alice@parley.local' } });
  });

  it('carries presence both ways, coalesces resources and answers probes from the stored presence', async () => {
    await bob.client.send(xml('presence', {}, xml('show', {}, 'away'), xml('status', {}, 'lunch')));
    const p = await waitTeams(s.t, (e) => e.type === 'presence' && e.from.id === 'ext1@partner.example' && e.show === 'away');
    expect(p).toMatchObject({ status: 'lunch', to: { id: 'alice@parley.local' } });

    await s.t.hub.ingest({ type: 'presence', id: 'tp-1', ts: Date.now(), from: alice, to: ext('ext1'), show: 'dnd', status: 'In a meeting' } satisfies Envelope);
    const pres = await bob.waitFor((el) => el.name === 'presence' && el.attrs.from === 'alice@parley.local' && el.getChildText('show') === 'dnd', 'presence');
    expect(pres.getChildText('status')).toBe('In a meeting');

    // A second session of bob logs in: Prosody probes alice and Parley answers with what Teams last said.
    const bob2 = await xmppUser(s.prosody, 'ext1', 'partner.example', { presence: false });
    try {
      await bob2.client.send(xml('presence'));
      const answer = await bob2.waitFor((el) => el.name === 'presence' && el.attrs.from === 'alice@parley.local', 'probe answer');
      expect(answer.getChildText('show')).toBe('dnd');
      expect(answer.getChildText('status')).toBe('In a meeting');
    } finally {
      await bob2.stop();
    }
    expect(s.xmpp.counters().probes).toBeGreaterThan(0);
  });

  it('serves vCard-temp both ways as profile requests and responses', async () => {
    await bob.client.send(xml('iq', { type: 'get', to: 'alice@parley.local', id: 'vc-1' }, xml('vCard', { xmlns: 'vcard-temp' })));
    const req = await waitTeams(s.t, (e) => e.type === 'profile-request' && e.from.id === 'ext1@partner.example');
    expect(bob.stanzas.some((el) => el.attrs.id === 'vc-1')).toBe(false); // answered only once Teams does
    await s.t.hub.ingest({
      type: 'profile-response', id: 'pr-1', ts: Date.now(), from: alice, to: ext('ext1'), replyTo: req.id,
      profile: { displayName: 'Alice Example', email: 'alice@contoso.example', title: 'Engineer' },
    } satisfies Envelope);
    const result = await bob.waitFor((el) => el.name === 'iq' && el.attrs.id === 'vc-1' && el.attrs.type === 'result', 'vCard result');
    const vc = result.getChild('vCard', 'vcard-temp');
    expect(vc?.getChildText('FN')).toBe('Alice Example');
    expect(vc?.getChild('EMAIL')?.getChildText('USERID')).toBe('alice@contoso.example');

    // Bob publishes his vCard; Teams asks for it; Prosody answers for his account.
    await bob.client.iqCaller.request(xml('iq', { type: 'set', id: 'vc-set' }, xml('vCard', { xmlns: 'vcard-temp' }, xml('FN', {}, 'Bob Partner'), xml('TITLE', {}, 'CTO'))));
    await s.t.hub.ingest({ type: 'profile-request', id: 'preq-2', ts: Date.now(), from: alice, to: ext('ext1') } satisfies Envelope);
    const resp = await waitTeams(s.t, (e) => e.type === 'profile-response' && e.replyTo === 'preq-2');
    expect(resp).toMatchObject({ from: ext('ext1'), profile: { displayName: 'Bob Partner', title: 'CTO' } });
  });

  it('answers disco#info for the domain and users with exactly the supported features', async () => {
    const info = await bob.client.iqCaller.request(xml('iq', { type: 'get', to: 'parley.local' }, xml('query', { xmlns: 'http://jabber.org/protocol/disco#info' })));
    const q = info.getChild('query', 'http://jabber.org/protocol/disco#info');
    expect(q?.getChild('identity')?.attrs).toMatchObject({ category: 'gateway', type: 'teams' });
    const features = q?.getChildren('feature').map((f) => f.attrs.var) ?? [];
    expect(features).toEqual(expect.arrayContaining(['urn:xmpp:receipts', 'urn:xmpp:reactions:0', 'urn:xmpp:message-correct:0', 'urn:xmpp:message-retract:1', 'vcard-temp', 'http://jabber.org/protocol/chatstates']));
    expect(features).not.toContain('http://jabber.org/protocol/muc');
    const user = await bob.client.iqCaller.request(xml('iq', { type: 'get', to: 'alice@parley.local' }, xml('query', { xmlns: 'http://jabber.org/protocol/disco#info' })));
    expect(user.getChild('query')?.getChild('identity')?.attrs).toMatchObject({ category: 'account' });
    const unknown = await bob.client.iqCaller.request(xml('iq', { type: 'get', to: 'alice@parley.local' }, xml('query', { xmlns: 'jabber:iq:version' }))).catch((e: { condition?: string }) => e);
    expect((unknown as { condition?: string }).condition).toBe('service-unavailable');
  });

  it('refuses a blocked domain on the wire, delivers nothing to Teams and writes a blocked metadata row', async () => {
    const mallory = await xmppUser(s.prosody, 'mallory', 'blocked.example');
    try {
      await mallory.client.send(xml('message', { to: 'alice@parley.local', type: 'chat', id: 'evil-1' }, xml('body', {}, 'let me in')));
      const err = await mallory.waitFor((el) => el.name === 'message' && el.attrs.type === 'error' && el.attrs.id === 'evil-1', 'stanza error');
      expect(err.getChild('error')?.getChild('policy-violation', 'urn:ietf:params:xml:ns:xmpp-stanzas')).toBeDefined();
      await until(() => s.t.sink.events.some((e) => e.outcome === 'blocked' && e.senderDomain === 'blocked.example'), 10_000, 'blocked row');
      const row = s.t.sink.events.find((e) => e.outcome === 'blocked' && e.senderDomain === 'blocked.example');
      expect(row).toMatchObject({ type: 'im', reason: 'POLICY_DOMAIN_BLOCKED', receiverDomain: 'parley.local', direction: 'inbound' });
      expect(s.t.loopback.delivered.some((d) => d.env.from.domain === 'blocked.example' && d.env.type === 'im')).toBe(false);
    } finally {
      await mallory.stop();
    }
  });

  it('turns an XMPP bounce into an error envelope for the Teams sender', async () => {
    await s.t.hub.ingest(im('to-nobody-1', alice, ext('nobody')));
    const err = await waitTeams(s.t, (e) => e.type === 'error' && e.target === 'to-nobody-1');
    expect(err).toMatchObject({ from: ext('nobody'), to: { id: 'alice@parley.local' }, code: 'RECIPIENT_UNAVAILABLE' });
  });
});
