import { describe, expect, it } from 'vitest';
import { idempotencyKey } from '../../src/delivery/items.ts';
import { addr, alice, bob, sample } from './fixtures.ts';

/** The key of `sample('im')` (teams:alice-aad-id, msg-1, xmpp:bob@partner.example). */
const PINNED = 'y0SVuGoThs-zZVPRcSFyUU';

describe('idempotencyKey', () => {
  it('is the same for every redelivery of an envelope to its recipient, whatever else changes', () => {
    const a = sample('im', { id: 'm-1' });
    const again = { ...sample('edit', { id: 'm-1' }), ts: a.ts + 60_000 };
    expect(idempotencyKey(again)).toBe(idempotencyKey(a));
  });

  it('differs when the sender, the id or the recipient differs', () => {
    const keys = new Set([
      idempotencyKey(sample('im', { id: 'm-1' })),
      idempotencyKey(sample('im', { id: 'm-2' })),
      idempotencyKey(sample('im', { id: 'm-1', from: addr('teams', 'carol-aad-id', alice.domain) })),
      idempotencyKey(sample('im', { id: 'm-1', to: addr('xmpp', 'dave@partner.example', bob.domain) })),
      idempotencyKey(sample('im', { id: 'm-1', to: addr('sip', bob.id, bob.domain) })),
    ]);
    expect(keys.size).toBe(5);
  });

  it('cannot be shadowed by moving characters between the sender, the id and the recipient', () => {
    // Joined with a separator, the first two would both read "teams:a>b>c>xmpp:d".
    const triples = [
      sample('im', { from: addr('teams', 'a>b', 'x.example'), id: 'c', to: addr('xmpp', 'd', 'y.example') }),
      sample('im', { from: addr('teams', 'a', 'x.example'), id: 'b>c', to: addr('xmpp', 'd', 'y.example') }),
    ];
    expect(new Set(triples.map(idempotencyKey)).size).toBe(triples.length);
  });

  it('stays what it is: the delivered marks in Redis are found by it', () => {
    // Changing the encoding orphans every stored mark: a late resend of a delivered message would go out again.
    expect(idempotencyKey(sample('im'))).toBe(PINNED);
  });

  it('is 22 URL-safe characters however long the addresses and the id are', () => {
    const long = sample('im', { id: 'i'.repeat(256), from: addr('teams', 'f'.repeat(512), alice.domain), to: addr('xmpp', `${'t'.repeat(400)}@partner.example`, bob.domain) });
    for (const env of [sample('im'), long]) expect(idempotencyKey(env)).toMatch(/^[A-Za-z0-9_-]{22}$/);
  });
});
