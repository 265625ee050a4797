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

  it('are as small as the items packed as one array with records', () => {
    const items = mixed(200, 'b');
    const [header, body] = runOf(runPacker(), items).parts();
    const whole = new Packr({ useRecords: true, mapsAsObjects: true, moreTypes: false }).pack(items);
    // The same records, defined where first used; only the array header differs in form.
    expect(header.length + body.length).toBeLessThanOrEqual(whole.length + 5);
    expect(body.length).toBeLessThan(whole.length);
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
