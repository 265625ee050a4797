import { describe, expect, it } from 'vitest';
import type { Envelope, EnvelopeType } from '../../src/core/envelope.ts';
import { METADATA_TYPES, metadataFor, type MetadataContext, type MetadataType } from '../../src/core/metadata.ts';
import { ENVELOPE_TYPES, LOCAL, addr, alice, bob, sample } from './fixtures.ts';

const ctx: MetadataContext = { localDomains: new Set([LOCAL]), defaultTenant: 'default-tenant' };
const carol = addr('teams', 'carol-aad-id', LOCAL);
const dan = addr('sip', 'dan@other.example', 'other.example');

describe('metadataFor', () => {
  it('copies ids, addresses, chat id, outcome, reason and time', () => {
    const env = sample('im', { id: 'm-42', from: alice, to: bob });
    expect(metadataFor(env, 'chat-1', 'failed', 'DELIVERY_TIMEOUT', ctx, 1234)).toEqual({
      ts: 1234,
      tenant: 'default-tenant',
      messageId: 'm-42',
      chatId: 'chat-1',
      type: 'im',
      sender: alice.id,
      receiver: bob.id,
      senderDomain: LOCAL,
      receiverDomain: 'partner.example',
      senderPlatform: 'teams',
      receiverPlatform: 'xmpp',
      direction: 'outbound',
      outcome: 'failed',
      reason: 'DELIVERY_TIMEOUT',
    });
  });

  it('defaults ts to the current time', () => {
    const before = Date.now();
    const ev = metadataFor(sample('im'), 'c', 'delivered', '', ctx);
    expect(ev.ts).toBeGreaterThanOrEqual(before);
    expect(ev.ts).toBeLessThanOrEqual(Date.now());
  });

  it.each([
    ['outbound', alice, bob],
    ['inbound', bob, alice],
    ['internal', alice, carol],
    ['external', bob, dan],
  ] as const)('classifies direction %s', (direction, from, to) => {
    expect(metadataFor(sample('im', { from, to }), 'c', 'delivered', '', ctx, 1).direction).toBe(direction);
  });

  describe('tenant', () => {
    const aliceT = { ...alice, tenant: 'tenant-a' };
    const carolT = { ...carol, tenant: 'tenant-c' };
    const bobT = { ...bob, tenant: 'tenant-evil' };
    const tenantOf = (from: Envelope['from'], to: Envelope['to']) => metadataFor(sample('im', { from, to }), 'c', 'delivered', '', ctx, 1).tenant;

    it('is the internal sender tenant for outbound', () => expect(tenantOf(aliceT, bobT)).toBe('tenant-a'));
    it('is the internal receiver tenant for inbound', () => expect(tenantOf(bobT, aliceT)).toBe('tenant-a'));
    it('never takes an external party tenant', () => {
      expect(tenantOf(bobT, alice)).toBe('default-tenant');
      expect(tenantOf(alice, bobT)).toBe('default-tenant');
      expect(tenantOf(bobT, { ...dan, tenant: 'x' })).toBe('default-tenant');
    });
    it('prefers the sender for internal, falling back to the receiver', () => {
      expect(tenantOf(aliceT, carolT)).toBe('tenant-a');
      expect(tenantOf(alice, carolT)).toBe('tenant-c');
    });
    it('falls back to the default tenant', () => expect(tenantOf(alice, carol)).toBe('default-tenant'));
  });

  it('maps every envelope type to a metadata type', () => {
    const expected: Record<EnvelopeType, MetadataType> = {
      im: 'im',
      presence: 'presence',
      typing: 'typing',
      reaction: 'reaction',
      edit: 'edit',
      delete: 'delete',
      file: 'file',
      'contact-request': 'contact',
      'contact-response': 'contact',
      'profile-request': 'profile',
      'profile-response': 'profile',
      invite: 'invite',
      receipt: 'receipt',
      error: 'error',
    };
    for (const type of ENVELOPE_TYPES) {
      const t = metadataFor(sample(type), 'c', 'delivered', '', ctx, 1).type;
      expect(t).toBe(expected[type]);
      expect(METADATA_TYPES).toContain(t);
    }
  });

  describe('carries no content', () => {
    const M = 'SECRET-MARKER-7f3a';
    const named = { ...alice, name: `${M} name` };
    const bobNamed = { ...bob, name: `${M} bob` };
    const b = { id: 'm1', ts: 1, from: named, to: bobNamed };
    const body = {
      blocks: [
        { t: 'p' as const, c: [{ t: 'text' as const, v: M }, { t: 'link' as const, href: `https://x.example/${M}`, v: M }, { t: 'mention' as const, id: M, v: M }] },
        { t: 'quote' as const, c: [{ t: 'text' as const, v: M }], author: M },
        { t: 'pre' as const, v: M, lang: 'ts' },
        { t: 'list' as const, ordered: true, items: [[{ t: 'text' as const, v: M }]] },
      ],
    };
    const carriers: Envelope[] = [
      { ...b, type: 'im', body },
      { ...b, type: 'edit', target: 'm0', body },
      { ...b, type: 'presence', show: 'dnd', status: M },
      { ...b, type: 'reaction', target: 'm0', emoji: M, action: 'add' },
      { ...b, type: 'file', name: `${M}.pdf`, size: 1, mime: `application/${M}`, url: `https://files.example/${M}` },
      { ...b, type: 'contact-request', message: M },
      {
        ...b,
        type: 'profile-response',
        profile: { displayName: M, email: `${M}@x.example`, title: M, organization: M, phone: M, avatarUrl: `https://x.example/${M}` },
      },
      { ...b, type: 'invite', room: { id: 'room-1', name: M }, reason: M },
      { ...b, type: 'error', code: 'INTERNAL', message: M, retryable: false },
    ];

    it('has the marker in every fixture (guards the test itself)', () => {
      for (const env of carriers) expect(JSON.stringify(env)).toContain(M);
    });

    it.each(carriers.map((e) => [e.type, e] as const))('no content of %s appears in the event', (_type, env) => {
      for (const outcome of ['delivered', 'failed', 'blocked'] as const) {
        const ev = metadataFor(env, 'chat-1', outcome, outcome === 'delivered' ? '' : 'POLICY_DOMAIN_BLOCKED', ctx, 1);
        expect(JSON.stringify(ev)).not.toContain(M);
      }
    });

    it('has exactly the documented fields', () => {
      const ev = metadataFor(carriers[0] as Envelope, 'c', 'delivered', '', ctx, 1);
      expect(Object.keys(ev).sort()).toEqual(
        [
          'ts', 'tenant', 'messageId', 'chatId', 'type', 'sender', 'receiver', 'senderDomain', 'receiverDomain',
          'senderPlatform', 'receiverPlatform', 'direction', 'outcome', 'reason',
        ].sort(),
      );
    });
  });
});
