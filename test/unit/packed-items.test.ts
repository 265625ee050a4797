import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import type { Envelope } from '../../src/core/envelope.ts';
import { ContentCipher } from '../../src/delivery/crypto.ts';
import { openItems, sealRun, type OutboundItem } from '../../src/delivery/items.ts';
import { PackedRun, runPacker } from '../../src/delivery/packed-items.ts';
import { im, teamsUser, xmppUser } from '../support/hub.ts';

const cipher = new ContentCipher(Buffer.alloc(32, 3));
const queue = 'deliver-x';

/** Envelopes of several shapes, so that a run defines several records and uses them again. */
function mixed(n: number, tag: string): OutboundItem[] {
  return Array.from({ length: n }, (_, i): OutboundItem => {
    const from = teamsUser(i % 5);
    const to = xmppUser(i % 3);
    const env: Envelope =
      i % 4 === 0
        ? { type: 'typing', id: `${tag}${i}`, ts: 1_700_000_000_000 + i, from, to, state: 'composing' }
        : i % 4 === 1
          ? { type: 'reaction', id: `${tag}${i}`, ts: 1_700_000_000_000 + i, from, to, target: `${tag}${i - 1}`, emoji: '👍', action: 'add' }
          : im(`${tag}${i}`, from, to, `text ${i} ✓ 𝄞`);
    return { key: `k-${tag}${i}`, chat: `c${i % 3}`, env };
  });
}

/** Items whose envelopes each have a key no other has: more shapes than msgpackr keeps record ids for. */
function manyShapes(n: number): OutboundItem[] {
  return Array.from({ length: n }, (_, i) => ({ key: `k${i}`, chat: 'c', env: { ...im(`s${i}`, teamsUser(1), xmppUser(1)), [`extra${i}`]: i } as Envelope }));
}

function runOf(packer: Packr, items: readonly OutboundItem[]): PackedRun {
  const run = new PackedRun(packer);
  items.forEach((item, i) => run.add(item, i));
  return run;
}

describe('packed runs (items packed one at a time, read as one array)', () => {
  it('read back as the items, through the sealed job payload', () => {
    const items = mixed(40, 'a');
    const run = runOf(runPacker(), items);
    const payload = sealRun(run, cipher, queue);
    expect(payload.n).toBe(40);
    expect(openItems(payload, cipher, queue)).toEqual(items);
  });

  it('pack their items exactly as msgpackr packs the array of them at once, with many shapes too', () => {
    const whole = new Packr({ useRecords: true, mapsAsObjects: true, moreTypes: false });
    for (const items of [mixed(200, 'b'), [...mixed(40, 'b'), ...manyShapes(80), ...mixed(40, 'c')]]) {
      const [header, body] = runOf(runPacker(), items).parts();
      expect(header.length).toBe(5);
      // msgpackr's array header for 16–65,535 items is 3 bytes; what follows is the same.
      expect(body.equals(whole.pack(items).subarray(3))).toBe(true);
    }
  });

  it('stay whole when an item cannot be packed, and take the next ones', () => {
    const items = mixed(6, 'p');
    const run = new PackedRun(runPacker());
    run.add(items[0] as OutboundItem);
    // A shape never seen in the run, with a value MessagePack cannot carry.
    const bad = { ...(items[1] as OutboundItem), env: { ...(items[1] as OutboundItem).env, huge: 2n ** 80n } as unknown as Envelope };
    expect(() => run.add(bad)).toThrow();
    const same = { ...bad, env: { ...bad.env, huge: 1 } as unknown as Envelope };
    for (const item of [same, ...items.slice(2)]) run.add(item);
    expect(openItems(sealRun(run, cipher, queue), cipher, queue)).toEqual([items[0], same, ...items.slice(2)]);
    expect(run.count).toBe(6);
  });

  it('keep each item’s key, chat and reference, in order', () => {
    const items = mixed(5, 'c');
    const run = runOf(runPacker(), items);
    expect(run.held).toEqual(items.map((i, n) => [i.key, i.chat, n]));
    expect(run.count).toBe(5);
  });

  it('start afresh with one packer: each run reads alone, whatever the runs before it defined', () => {
    const packer = runPacker();
    const first = mixed(30, 'd');
    const second = mixed(30, 'e').reverse();
    const payloads = [sealRun(runOf(packer, first), cipher, queue), sealRun(runOf(packer, second), cipher, queue)];
    expect(openItems(payloads[1] as never, cipher, queue)).toEqual(second);
    expect(openItems(payloads[0] as never, cipher, queue)).toEqual(first);
  });

  it('read back with more shapes than record ids, and large enough to grow their buffer', () => {
    const items = manyShapes(300);
    expect(openItems(sealRun(runOf(runPacker(), items), cipher, queue), cipher, queue)).toEqual(items);
    const big = mixed(2_000, 'f');
    expect(openItems(sealRun(runOf(runPacker(), big), cipher, queue), cipher, queue)).toEqual(big);
  });
});
