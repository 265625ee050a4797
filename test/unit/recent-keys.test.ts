import { describe, expect, it } from 'vitest';
import { RecentKeys } from '../../src/core/recent-keys.ts';

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

  it('forgets a deleted key at once and everything on clear', () => {
    const r = new RecentKeys(3);
    for (const k of ['a', 'b', 'c']) r.add(k);
    r.delete('b');
    expect(r.has('b')).toBe(false);
    expect(r.size).toBe(2);
    r.add('d'); // overwrites a's slot
    r.add('e'); // overwrites b's old slot: nothing else is lost
    expect(['c', 'd', 'e'].every((k) => r.has(k))).toBe(true);
    r.clear();
    expect(r.size).toBe(0);
    expect(r.has('c')).toBe(false);
    r.add('f');
    expect(r.has('f')).toBe(true);
  });

  it('holds exactly the newest `capacity` keys after many more were added', () => {
    const r = new RecentKeys(20_000);
    for (let i = 0; i < 70_000; i++) r.add(`k${i}`);
    expect(r.size).toBe(20_000);
    expect(r.has('k49999')).toBe(false);
    expect(r.has('k50000')).toBe(true);
    expect(r.has('k69999')).toBe(true);
  });

  it('refuses a capacity that is not a positive integer', () => {
    expect(() => new RecentKeys(0)).toThrow(RangeError);
  });
});
