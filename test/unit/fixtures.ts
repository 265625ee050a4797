import type { Address } from '../../src/core/address.ts';
import type { Envelope, EnvelopeOf, EnvelopeType } from '../../src/core/envelope.ts';

/** Shared builders for unit tests: addresses and one valid envelope of each type. */

export const LOCAL = 'parley.local';

export function addr(platform: Address['platform'], id: string, domain: string, extra: Partial<Address> = {}): Address {
  return { platform, id, domain, ...extra };
}

/** An internal Teams user and an external XMPP user. */
export const alice = addr('teams', 'alice-aad-id', LOCAL);
export const bob = addr('xmpp', 'bob@partner.example', 'partner.example');

type Base = Pick<Envelope, 'id' | 'ts' | 'from' | 'to'>;

const base = (over: Partial<Base> = {}): Base => ({ id: 'msg-1', ts: 1_700_000_000_000, from: alice, to: bob, ...over });

/** One valid envelope per type; `over` replaces base fields (id, ts, from, to). */
export function sample<T extends EnvelopeType>(type: T, over: Partial<Base> = {}): EnvelopeOf<T> {
  const b = base(over);
  const all: { [K in EnvelopeType]: EnvelopeOf<K> } = {
    im: { ...b, type: 'im', body: { blocks: [{ t: 'p', c: [{ t: 'text', v: 'hello' }] }] } },
    presence: { ...b, type: 'presence', show: 'away', status: 'lunch' },
    typing: { ...b, type: 'typing', state: 'composing' },
    reaction: { ...b, type: 'reaction', target: 'msg-0', emoji: '👍', action: 'add' },
    edit: { ...b, type: 'edit', target: 'msg-0', body: { blocks: [{ t: 'p', c: [{ t: 'text', v: 'fixed' }] }] } },
    delete: { ...b, type: 'delete', target: 'msg-0' },
    file: {
      ...b,
      type: 'file',
      name: 'report.pdf',
      size: 1234,
      mime: 'application/pdf',
      url: 'https://files.parley.local/f/abc',
      expiresAt: 1_700_000_600_000,
    },
    'contact-request': { ...b, type: 'contact-request', message: 'hi, add me' },
    'contact-response': { ...b, type: 'contact-response', decision: 'accepted' },
    'profile-request': { ...b, type: 'profile-request' },
    'profile-response': { ...b, type: 'profile-response', profile: { displayName: 'Alice', email: 'alice@parley.local' } },
    invite: { ...b, type: 'invite', chatId: '19:channel@thread', room: { id: 'room-1', name: 'General' }, reason: 'join us' },
    receipt: { ...b, type: 'receipt', target: 'msg-0', status: 'read' },
    error: { ...b, type: 'error', code: 'RECIPIENT_UNKNOWN', message: 'no such user', target: 'msg-0', retryable: false },
  };
  return all[type] as EnvelopeOf<T>;
}

export const ENVELOPE_TYPES: readonly EnvelopeType[] = [
  'im', 'presence', 'typing', 'reaction', 'edit', 'delete', 'file', 'contact-request', 'contact-response',
  'profile-request', 'profile-response', 'invite', 'receipt', 'error',
];

/** Recursively freezes a value so any mutation throws in strict-mode code. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
