import xml from '@xmpp/xml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Envelope } from '../../src/core/envelope.ts';
import { toPlainText } from '../../src/core/richtext.ts';
import { im } from '../support/hub.ts';
import { alice, ext, teamsReceived, useXmppStack, waitTeams, xmppUser, type TestXmppUser } from '../support/xmpp.ts';

const NS_STATES = 'http://jabber.org/protocol/chatstates';

describe('XMPP <-> Teams messaging through a real Prosody', () => {
  const s = useXmppStack();
  let bob: TestXmppUser;
  beforeAll(async () => {
    bob = await xmppUser(s.prosody, 'ext1');
  });
  afterAll(async () => {
    await bob?.stop();
  });

  it('carries a styled chat message from XMPP to Teams as rich text, and acknowledges it with a receipt', async () => {
    await bob.client.send(
      xml('message', { to: 'alice@parley.local', type: 'chat', id: 'in-1' },
        xml('body', {}, 'Hello *bold* _it_ `code` 😀\n> quoted\nsee https://example.org/x'),
        xml('request', { xmlns: 'urn:xmpp:receipts' })),
    );
    const env = await waitTeams(s.t, (e) => e.type === 'im' && e.id === 'x:ext1@partner.example/in-1');
    expect(env.from).toEqual(ext('ext1'));
    expect(env.to).toMatchObject({ platform: 'teams', id: 'alice@parley.local', domain: 'parley.local' });
    if (env.type !== 'im') throw new Error('not im');
    expect(env.receiptRequested).toBe(true);
    expect(env.body.blocks[0]).toEqual({
      t: 'p',
      c: [
        { t: 'text', v: 'Hello ' },
        { t: 'text', v: 'bold', marks: ['bold'] },
        { t: 'text', v: ' ' },
        { t: 'text', v: 'it', marks: ['italic'] },
        { t: 'text', v: ' ' },
        { t: 'text', v: 'code', marks: ['code'] },
        { t: 'text', v: ' 😀' },
      ],
    });
    expect(env.body.blocks[1]).toMatchObject({ t: 'quote' });
    expect(env.body.blocks[2]).toMatchObject({ t: 'p', c: [{ t: 'text', v: 'see ' }, { t: 'link', href: 'https://example.org/x' }] });
    const receipt = await bob.waitFor((el) => el.getChild('received', 'urn:xmpp:receipts')?.attrs.id === 'in-1', 'receipt');
    expect(receipt.attrs.from).toBe('alice@parley.local');
  });

  it('carries a Teams message to XMPP with styling, a receipt request and the envelope id', async () => {
    const env = im('teams-msg-1', alice, ext('ext1'));
    if (env.type !== 'im') throw new Error('not im');
    env.receiptRequested = true;
    env.body = { blocks: [{ t: 'p', c: [{ t: 'text', v: 'Hi ' }, { t: 'text', v: 'there', marks: ['bold'] }, { t: 'text', v: ' 🎉' }] }] };
    const ack = await s.t.hub.ingest(env);
    expect(ack.outcome).toBe('accepted');
    const msg = await bob.waitFor((el) => el.name === 'message' && el.attrs.id === 'parley:teams-msg-1', 'message from Teams');
    expect(msg.attrs.from).toBe('alice@parley.local');
    expect(msg.attrs.type).toBe('chat');
    expect(msg.getChildText('body')).toBe('Hi *there* 🎉');
    expect(msg.getChild('request', 'urn:xmpp:receipts')).toBeDefined();

    // The hub says the message reached XMPP; the client's own acknowledgement
    // then reaches Teams as a receipt for the same message id.
    const fromHub = await waitTeams(s.t, (e) => e.type === 'receipt' && e.target === 'teams-msg-1', 'the hub\'s receipt');
    expect(fromHub).toMatchObject({ type: 'receipt', status: 'delivered', from: ext('ext1') });
    await bob.client.send(xml('message', { to: 'alice@parley.local', id: 'r-1' }, xml('received', { xmlns: 'urn:xmpp:receipts', id: 'parley:teams-msg-1' })));
    const r = await waitTeams(s.t, (e) => e.type === 'receipt' && e.id === 'x:ext1@partner.example/r-1', 'the client\'s receipt');
    expect(r).toMatchObject({ type: 'receipt', status: 'delivered', target: 'teams-msg-1', from: ext('ext1') });
  });

  it('maps XEP-0085 chat states to typing both ways', async () => {
    await bob.client.send(xml('message', { to: 'alice@parley.local', type: 'chat', id: 'cs-1' }, xml('composing', { xmlns: NS_STATES })));
    const typing = await waitTeams(s.t, (e) => e.type === 'typing' && e.id === 'x:ext1@partner.example/cs-1');
    expect(typing).toMatchObject({ type: 'typing', state: 'composing' });

    await s.t.hub.ingest({ type: 'typing', id: 'teams-typing-1', ts: Date.now(), from: alice, to: ext('ext1'), state: 'paused' } satisfies Envelope);
    const el = await bob.waitFor((x) => x.attrs.id === 'parley:teams-typing-1', 'chat state');
    expect(el.getChild('paused', NS_STATES)).toBeDefined();
    expect(el.getChild('body')).toBeUndefined();
  });

  it('passes on a standalone chat state only when it starts or ends composing', async () => {
    const say = (id: string, body: string) => bob.client.send(xml('message', { to: 'alice@parley.local', type: 'chat', id }, xml('body', {}, body)));
    const state = (id: string, name: string) => bob.client.send(xml('message', { to: 'alice@parley.local', type: 'chat', id }, xml(name, { xmlns: NS_STATES })));
    await say('st-0', 'hello'); // a message ends whatever composing came before
    await state('st-1', 'active'); // not composing: nothing to show
    await state('st-2', 'composing');
    await state('st-3', 'composing'); // repeated: keeps the indicator alive
    await state('st-4', 'paused'); // ends it
    await state('st-5', 'inactive'); // nothing composing any more
    await state('st-6', 'composing');
    await say('st-7', 'done'); // ends it too
    await state('st-8', 'gone');
    await say('st-9', 'bye');
    await waitTeams(s.t, (e) => e.id === 'x:ext1@partner.example/st-9', 'the last message');
    const seen = teamsReceived(s.t, (e) => e.id.startsWith('x:ext1@partner.example/st-')).map((e) => `${e.id.split('/').pop()} ${e.type === 'typing' ? e.state : e.type}`);
    expect(seen).toEqual(['st-0 im', 'st-2 composing', 'st-3 composing', 'st-4 paused', 'st-6 composing', 'st-7 im', 'st-9 im']);
  });

  it('says <active/> on the first message of a conversation and after typing, not on every message', async () => {
    const carol = { platform: 'teams' as const, id: 'carol@parley.local', domain: 'parley.local' };
    const send = async (env: Envelope) => {
      expect((await s.t.hub.ingest(env)).outcome).toBe('accepted');
      return bob.waitFor((x) => x.attrs.id === `parley:${env.id}`, env.id);
    };
    const first = await send(im('cs-first', carol, ext('ext1')));
    expect(first.getChild('active', NS_STATES)).toBeDefined();
    const second = await send(im('cs-second', carol, ext('ext1')));
    expect(second.getChild('active', NS_STATES)).toBeUndefined();
    // Nobody asked for a receipt (Teams users never do): none is requested, so none comes back.
    expect(second.getChild('request', 'urn:xmpp:receipts')).toBeUndefined();
    const typing = await send({ type: 'typing', id: 'cs-typing', ts: Date.now(), from: carol, to: ext('ext1'), state: 'composing' } satisfies Envelope);
    expect(typing.getChild('composing', NS_STATES)).toBeDefined();
    const after = await send(im('cs-after', carol, ext('ext1')));
    expect(after.getChild('active', NS_STATES)).toBeDefined();
    expect(after.getChildText('body')).toBeTruthy();
  });

  it('maps XEP-0308 corrections and XEP-0424 retractions to edit and delete, both ways, ids mapped', async () => {
    await bob.client.send(xml('message', { to: 'alice@parley.local', type: 'chat', id: 'orig-1' }, xml('body', {}, 'helo')));
    await waitTeams(s.t, (e) => e.id === 'x:ext1@partner.example/orig-1');
    await bob.client.send(
      xml('message', { to: 'alice@parley.local', type: 'chat', id: 'fix-1' }, xml('body', {}, 'hello'), xml('replace', { xmlns: 'urn:xmpp:message-correct:0', id: 'orig-1' })),
    );
    const edit = await waitTeams(s.t, (e) => e.type === 'edit' && e.id === 'x:ext1@partner.example/fix-1');
    if (edit.type !== 'edit') throw new Error('not edit');
    expect(edit.target).toBe('x:ext1@partner.example/orig-1');
    expect(toPlainText(edit.body)).toBe('hello');
    await bob.client.send(xml('message', { to: 'alice@parley.local', type: 'chat', id: 'del-1' }, xml('retract', { xmlns: 'urn:xmpp:message-retract:1', id: 'orig-1' })));
    const del = await waitTeams(s.t, (e) => e.type === 'delete' && e.id === 'x:ext1@partner.example/del-1');
    expect(del).toMatchObject({ target: 'x:ext1@partner.example/orig-1' });

    // Teams edits and deletes its own message teams-msg-9, and edits... bob's message ids are unwrapped on the way out.
    await s.t.hub.ingest(im('teams-msg-9', alice, ext('ext1'), 'v1'));
    await bob.waitFor((x) => x.attrs.id === 'parley:teams-msg-9', 'original');
    await s.t.hub.ingest({ type: 'edit', id: 'teams-edit-9', ts: Date.now(), from: alice, to: ext('ext1'), target: 'teams-msg-9', body: { blocks: [{ t: 'p', c: [{ t: 'text', v: 'v2' }] }] } });
    const fix = await bob.waitFor((x) => x.attrs.id === 'parley:teams-edit-9', 'correction');
    expect(fix.getChild('replace', 'urn:xmpp:message-correct:0')?.attrs.id).toBe('parley:teams-msg-9');
    expect(fix.getChildText('body')).toBe('v2');
    await s.t.hub.ingest({ type: 'delete', id: 'teams-del-9', ts: Date.now(), from: alice, to: ext('ext1'), target: 'teams-msg-9' });
    const retract = await bob.waitFor((x) => x.attrs.id === 'parley:teams-del-9', 'retraction');
    expect(retract.getChild('retract', 'urn:xmpp:message-retract:1')?.attrs.id).toBe('parley:teams-msg-9');
    expect(retract.getChild('fallback', 'urn:xmpp:fallback:0')).toBeDefined();
  });

  it('maps XEP-0444 reaction sets to single reaction changes and back', async () => {
    await s.t.hub.ingest(im('teams-msg-r', alice, ext('ext1'), 'react to me'));
    await bob.waitFor((x) => x.attrs.id === 'parley:teams-msg-r', 'message to react to');
    const react = (id: string, ...emojis: string[]) =>
      bob.client.send(xml('message', { to: 'alice@parley.local', type: 'chat', id }, xml('reactions', { xmlns: 'urn:xmpp:reactions:0', id: 'parley:teams-msg-r' }, ...emojis.map((e) => xml('reaction', {}, e)))));
    await react('re-1', '👍', '❤️');
    const add1 = await waitTeams(s.t, (e) => e.type === 'reaction' && e.emoji === '👍' && e.action === 'add');
    expect(add1).toMatchObject({ target: 'teams-msg-r', from: ext('ext1') });
    await waitTeams(s.t, (e) => e.type === 'reaction' && e.emoji === '❤️' && e.action === 'add');
    await react('re-2', '❤️');
    await waitTeams(s.t, (e) => e.type === 'reaction' && e.emoji === '👍' && e.action === 'remove');

    // Teams reacts to bob's message: XMPP gets the full set with bob's own stanza id.
    await bob.client.send(xml('message', { to: 'alice@parley.local', type: 'chat', id: 'bob-msg-r' }, xml('body', {}, 'nice')));
    await waitTeams(s.t, (e) => e.id === 'x:ext1@partner.example/bob-msg-r');
    const target = 'x:ext1@partner.example/bob-msg-r';
    await s.t.hub.ingest({ type: 'reaction', id: 'tr-1', ts: Date.now(), from: alice, to: ext('ext1'), target, emoji: '🎉', action: 'add' });
    await s.t.hub.ingest({ type: 'reaction', id: 'tr-2', ts: Date.now(), from: alice, to: ext('ext1'), target, emoji: '👀', action: 'add' });
    const set = await bob.waitFor((x) => x.attrs.id === 'parley:tr-2', 'reaction set');
    const r = set.getChild('reactions', 'urn:xmpp:reactions:0');
    expect(r?.attrs.id).toBe('bob-msg-r');
    expect(r?.getChildren('reaction').map((c) => c.getText()).sort()).toEqual(['👀', '🎉'].sort());
  });

  it('maps XEP-0066 out-of-band links to file envelopes and back', async () => {
    await bob.client.send(
      xml('message', { to: 'alice@parley.local', type: 'chat', id: 'oob-1' }, xml('body', {}, 'https://files.example/a/report%20v2.pdf'),
        xml('x', { xmlns: 'jabber:x:oob' }, xml('url', {}, 'https://files.example/a/report%20v2.pdf'))),
    );
    const file = await waitTeams(s.t, (e) => e.type === 'file' && e.id === 'x:ext1@partner.example/oob-1');
    expect(file).toMatchObject({ name: 'report v2.pdf', url: 'https://files.example/a/report%20v2.pdf' });

    await s.t.hub.ingest({ type: 'file', id: 'tf-1', ts: Date.now(), from: alice, to: ext('ext1'), name: 'plan.xlsx', size: 1234, mime: 'application/vnd.ms-excel', url: 'https://parley.example/f/abc' });
    const m = await bob.waitFor((x) => x.attrs.id === 'parley:tf-1', 'file message');
    expect(m.getChild('x', 'jabber:x:oob')?.getChildText('url')).toBe('https://parley.example/f/abc');
    expect(m.getChild('x', 'jabber:x:oob')?.getChildText('desc')).toBe('plan.xlsx');
    expect(m.getChildText('body')).toBe('https://parley.example/f/abc');
    expect(m.getChild('request', 'urn:xmpp:receipts')).toBeUndefined();

    await s.t.hub.ingest({ type: 'file', id: 'tf-2', ts: Date.now(), from: alice, to: ext('ext1'), name: 'plan.xlsx', size: 1234, mime: 'application/vnd.ms-excel', url: 'https://parley.example/f/abd', receiptRequested: true });
    const asked = await bob.waitFor((x) => x.attrs.id === 'parley:tf-2', 'file message asking for a receipt');
    expect(asked.getChild('request', 'urn:xmpp:receipts')).toBeDefined();
  });
});
