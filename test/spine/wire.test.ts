import { describe, expect, it } from 'vitest';
import { ContentCipher } from '../../src/delivery/crypto.ts';
import { openItems, sealItems, type OutboundItem } from '../../src/delivery/items.ts';
import { decodeFromShard, decodeToShard, encode, type Routed, type WireJob } from '../../src/runtime/protocol.ts';
import { im, teamsUser, xmppUser } from '../support/hub.ts';

const env = (i: number) => im(`w${i}`, teamsUser(i), xmppUser(i), `text ${i} ✓`);

// Small batches go as plain maps, large ones as records: both must read back the same.
describe.each([1, 15, 16, 300])('wire formats with %i items', (n) => {
  it('seals and opens delivery items', () => {
    const cipher = new ContentCipher(Buffer.alloc(32, 7));
    const items: OutboundItem[] = Array.from({ length: n }, (_, i) => ({ key: `k${i}`, chat: `c${i % 3}`, env: env(i) }));
    expect(openItems(sealItems(items, cipher, 'deliver-x'), cipher, 'deliver-x')).toEqual(items);
  });

  it('carries batches to a shard and acknowledgements back', () => {
    const items: Routed[] = Array.from({ length: n }, (_, i) => [i, `chat:${i}`, 'ingress', env(i)]);
    expect(decodeToShard(encode({ k: 'batch', items }))).toEqual({ k: 'batch', items });
    const jobs: WireJob[] = [['loopback', 'o1.a', [['k0', 'c0', 0], ['k1', 'c1', env(1)]], ['k0']]];
    const acks = { k: 'acks' as const, acks: Array.from({ length: n }, (_, i): [number, 'accepted', null] => [i, 'accepted', null]), meta: [], jobs };
    expect(decodeFromShard(encode(acks))).toEqual(acks);
  });
});
