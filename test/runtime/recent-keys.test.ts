import { describe, expect, it } from 'vitest';
import { RecentKeys } from '../../src/delivery/recent-keys.ts';

describe('RecentKeys', () => {
  it('remembers the last `capacity` keys and forgets older ones in order', () => {
    const r = new RecentKeys(3);
    for (const k of ['a', 'b', 'c']) r.add(k);
    expect(['a', 'b', 'c'].map((k) => r.has(k))).toEqual([true, true, true]);
    r.add('d');
    expect(r.has('a')).toBe(false);
    expect(['b', 'c', 'd'].every((k) => r.has(k))).toBe(true);
    expect(r.size).toBe(3);
  });

  it('keeps a key added again until its newest slot is overwritten', () => {
    const r = new RecentKeys(3);
    r.add('a');
    r.add('b');
    r.add('a');
    // The ring is [a, b, a]: overwriting the first slot must not forget the newer 'a'.
    r.add('c');
    expect(r.has('a')).toBe(true);
    expect(r.has('b')).toBe(true);
    r.add('d');
    expect(r.has('b')).toBe(false);
    expect(r.has('a')).toBe(true);
    r.add('e');
    expect(r.has('a')).toBe(false);
    expect(['c', 'd', 'e'].every((k) => r.has(k))).toBe(true);
  });

  it('costs the same per key whether keys come one by one or in bulk', () => {
    const r = new RecentKeys(20_000);
    for (let i = 0; i < 20_000; i++) r.add(`warm${i}`);
    const t0 = performance.now();
    for (let i = 0; i < 50_000; i++) r.add(`k${i}`);
    const perKeyUs = ((performance.now() - t0) * 1000) / 50_000;
    // A Set trimmed from its front costs ~10 us per key added singly at this size.
    expect(perKeyUs).toBeLessThan(3);
    expect(r.size).toBe(20_000);
  });

  it('refuses a capacity that is not a positive integer', () => {
    expect(() => new RecentKeys(0)).toThrow(RangeError);
  });
});
