import { describe, expect, it } from 'vitest';
import type { EnvelopeType } from '../../src/core/envelope.ts';
import { actorKeyFor, chatIdFor } from '../../src/core/routing.ts';
import { ENVELOPE_TYPES, LOCAL, addr, alice, bob, sample } from './fixtures.ts';

const local = new Set([LOCAL]);
const USER_TYPES: readonly EnvelopeType[] = ['presence', 'contact-request', 'contact-response', 'profile-request', 'profile-response'];
const CHAT_TYPES = ENVELOPE_TYPES.filter((t) => !USER_TYPES.includes(t));

describe('chatIdFor', () => {
  it('gives the same id for both directions of a 1:1 pair', () => {
    const out = chatIdFor({ from: alice, to: bob });
    const back = chatIdFor({ from: bob, to: alice });
    expect(out).toBe(back);
    expect(out).toBe('p:18:teams:alice-aad-id|xmpp:bob@partner.example');
  });

  it('is the same for any envelope type of the pair', () => {
    const ids = new Set(ENVELOPE_TYPES.filter((t) => t !== 'invite').map((t) => chatIdFor(sample(t))));
    expect(ids.size).toBe(1);
  });

  it('distinguishes different pairs and different platforms with the same id', () => {
    const carol = addr('xmpp', 'carol@partner.example', 'partner.example');
    const bobSip = addr('sip', bob.id, bob.domain);
    expect(chatIdFor({ from: alice, to: carol })).not.toBe(chatIdFor({ from: alice, to: bob }));
    expect(chatIdFor({ from: alice, to: bobSip })).not.toBe(chatIdFor({ from: alice, to: bob }));
  });

  it('ignores domain, tenant and display name (keys on platform:id)', () => {
    const renamed = { ...bob, name: 'Bobby', tenant: 'x', domain: 'other.example' };
    expect(chatIdFor({ from: alice, to: renamed })).toBe(chatIdFor({ from: alice, to: bob }));
  });

  it('uses the group chatId when there is one, whatever the parties', () => {
    expect(chatIdFor({ from: alice, to: bob, chatId: '19:room@thread' })).toBe('19:room@thread');
    expect(chatIdFor({ from: bob, to: addr('teams', 'z', LOCAL), chatId: '19:room@thread' })).toBe('19:room@thread');
  });
});

describe('actorKeyFor', () => {
  it.each(CHAT_TYPES)('routes %s to the chat actor, same key in both directions', (type) => {
    const out = actorKeyFor(sample(type, { from: alice, to: bob }), local);
    const back = actorKeyFor(sample(type, { from: bob, to: alice }), local);
    expect(out).toBe(back);
    expect(out).toBe(type === 'invite' ? 'chat:g:19:channel@thread' : `chat:${chatIdFor({ from: alice, to: bob })}`);
  });

  it('routes a group message by its chatId', () => {
    expect(actorKeyFor({ ...sample('im'), chatId: 'g1' }, local)).toBe('chat:g:g1');
    expect(actorKeyFor({ ...sample('im', { from: bob, to: alice }), chatId: 'g1' }, local)).toBe('chat:g:g1');
  });

  it.each(USER_TYPES)('routes outbound and inbound %s to the internal user session', (type) => {
    expect(actorKeyFor(sample(type, { from: alice, to: bob }), local)).toBe('user:teams:alice-aad-id');
    expect(actorKeyFor(sample(type, { from: bob, to: alice }), local)).toBe('user:teams:alice-aad-id');
  });

  it('routes user types to the user even when a chatId is present', () => {
    expect(actorKeyFor({ ...sample('presence', { from: bob, to: alice }), chatId: 'room' }, local)).toBe('user:teams:alice-aad-id');
  });

  it('treats every configured local domain as internal', () => {
    const two = new Set([LOCAL, 'corp.example']);
    const dave = addr('teams', 'dave', 'corp.example');
    expect(actorKeyFor(sample('presence', { from: bob, to: dave }), two)).toBe('user:teams:dave');
  });

  it('routes a subdomain of a local domain as external', () => {
    const sub = addr('xmpp', 'eve@sub.parley.local', 'sub.parley.local');
    expect(actorKeyFor(sample('presence', { from: sub, to: alice }), local)).toBe('user:teams:alice-aad-id');
  });
});
