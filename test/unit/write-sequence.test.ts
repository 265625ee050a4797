import { describe, expect, it } from 'vitest';
import type { DeliveryResult } from '../../src/core/connector.ts';
import { WriteSequence } from '../../src/connectors/xmpp/sequence.ts';

const OK: DeliveryResult = { ok: true };
const LOST: DeliveryResult = { ok: false, error: { code: 'DELIVERY_UNAVAILABLE', message: 'stream lost', retryable: true } };
const tick = (ms = 0): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A call that takes `prepMs` before its write, then waits for `confirm` (its pong). */
function call(log: string[], name: string, prepMs: number, confirm: Promise<DeliveryResult>): (wrote: () => void) => Promise<DeliveryResult[]> {
  return async (wrote) => {
    await tick(prepMs);
    log.push(name);
    wrote();
    return [await confirm];
  };
}

function deferred(): { promise: Promise<DeliveryResult>; resolve(r: DeliveryResult): void } {
  let resolve: (r: DeliveryResult) => void = () => undefined;
  const promise = new Promise<DeliveryResult>((r) => (resolve = r));
  return { promise, resolve };
}

describe('WriteSequence: a chat\'s overlapping XMPP deliveries', () => {
  it('writes in call order, however long each call prepares, without waiting for earlier confirmations', async () => {
    const seq = new WriteSequence();
    const log: string[] = [];
    const pongs = [deferred(), deferred(), deferred()];
    const runs = [
      seq.run(false, call(log, 'a', 30, pongs[0]!.promise)),
      seq.run(false, call(log, 'b', 0, pongs[1]!.promise)),
      seq.run(false, call(log, 'c', 10, pongs[2]!.promise)),
    ];
    await tick(80);
    // All three written while none is confirmed.
    expect(log).toEqual(['a', 'b', 'c']);
    expect(seq.inFlight).toBe(3);
    for (const p of pongs) p.resolve(OK);
    expect(await Promise.all(runs)).toEqual([[OK], [OK], [OK]]);
    expect(seq.inFlight).toBe(0);
  });

  it('fails every call after a failed one, even one whose own write was confirmed', async () => {
    const seq = new WriteSequence();
    const log: string[] = [];
    const pongs = [deferred(), deferred()];
    const first = seq.run(false, call(log, 'a', 0, pongs[0]!.promise));
    const second = seq.run(false, call(log, 'b', 0, pongs[1]!.promise));
    await tick(10);
    expect(log).toEqual(['a', 'b']);
    pongs[0]!.resolve(LOST);
    expect(await first).toEqual([LOST]);
    pongs[1]!.resolve(OK);
    const [r] = await second;
    expect(r?.ok).toBe(false);
    expect(r && !r.ok && r.error.retryable).toBe(true);
    // A call made after the failure is not written at all.
    expect(await seq.run(false, call(log, 'c', 0, Promise.resolve(OK)))).toEqual([r]);
    expect(log).toEqual(['a', 'b']);
  });

  it('fails the later calls once the caller marks the sequence broken (a timeout)', async () => {
    const seq = new WriteSequence();
    const log: string[] = [];
    const pongs = [deferred(), deferred()];
    const first = seq.run(false, call(log, 'a', 0, pongs[0]!.promise));
    const second = seq.run(false, call(log, 'b', 0, pongs[1]!.promise));
    await tick(10);
    seq.broken = true;
    // Pongs come in write order: the first call's, then the second's.
    pongs[0]!.resolve(OK);
    pongs[1]!.resolve(OK);
    await first;
    expect((await second)[0]?.ok).toBe(false);
  });

  it('runs a call on another stream (rooms) alone: after every earlier call, before every later one', async () => {
    const seq = new WriteSequence();
    const log: string[] = [];
    const pong = deferred();
    const first = seq.run(false, call(log, 'a', 0, pong.promise));
    const rooms = seq.run(true, call(log, 'rooms', 0, Promise.resolve(OK)));
    const after = seq.run(false, call(log, 'c', 0, Promise.resolve(OK)));
    await tick(20);
    expect(log).toEqual(['a']);
    pong.resolve(OK);
    await Promise.all([first, rooms, after]);
    expect(log).toEqual(['a', 'rooms', 'c']);
  });

  it('lets the next call go when a call throws before writing, and fails it unwritten', async () => {
    const seq = new WriteSequence();
    const log: string[] = [];
    const failing = seq.run(false, () => Promise.reject(new Error('boom')));
    const next = seq.run(false, call(log, 'b', 0, Promise.resolve(OK)));
    await expect(failing).rejects.toThrow('boom');
    expect((await next)[0]?.ok).toBe(false);
    expect(log).toEqual([]);
  });
});
