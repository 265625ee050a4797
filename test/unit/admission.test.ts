import { describe, expect, it } from 'vitest';
import { Admission } from '../../src/runtime/admission.ts';

const settled = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('Admission: room in a full shard goes to the callers waiting, in turn', () => {
  it('a slot freed for a waiter is taken for it: a caller arriving before it wakes queues behind', async () => {
    const a = new Admission(2);
    expect(a.tryEnter()).toBe(true);
    expect(a.tryEnter()).toBe(true);
    const order: string[] = [];
    const first = a.wait()?.then((g) => order.push(`first:${g}`));
    const second = a.wait()?.then((g) => order.push(`second:${g}`));
    expect(a.tryEnter()).toBe(false);
    a.leave();
    // Before the woken waiter runs, a newcomer (one answering its own ack, say) finds no room.
    expect(a.tryEnter()).toBe(false);
    expect(a.size).toBe(2);
    a.leave();
    await Promise.all([first, second]);
    expect(order).toEqual(['first:true', 'second:true']);
    expect(a.size).toBe(2);
    expect(a.waiting).toBe(0);
  });

  it('hands out as many slots as were freed, and no more', async () => {
    const a = new Admission(3);
    for (let i = 0; i < 3; i++) a.tryEnter();
    const got: number[] = [];
    const waits = [0, 1, 2].map((i) => a.wait()?.then(() => got.push(i)));
    a.leave(2);
    await settled();
    expect(got).toEqual([0, 1]);
    expect(a.waiting).toBe(1);
    a.leave(1);
    await Promise.all(waits);
    expect(got).toEqual([0, 1, 2]);
  });

  it('bounds the waiters, and a shard that goes away tells them so', async () => {
    const a = new Admission(2);
    a.tryEnter();
    a.tryEnter();
    const w1 = a.wait();
    const w2 = a.wait();
    expect(a.wait()).toBeUndefined();
    a.reset();
    await expect(w1).resolves.toBe(false);
    await expect(w2).resolves.toBe(false);
    expect(a.size).toBe(0);
    expect(a.tryEnter()).toBe(true);
  });
});
