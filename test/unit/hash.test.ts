import { describe, expect, it } from 'vitest';
import { fnv1a, jumpHash, shardOf } from '../../src/runtime/hash.ts';

const MASK64 = (1n << 64n) - 1n;

/** Lamping & Veach, "A Fast, Minimal Memory, Consistent Hash Algorithm" (2014), with exact 64-bit arithmetic. */
function referenceJump(key32: number, buckets: number): number {
  let key = BigInt(key32 >>> 0);
  let b = -1n;
  let j = 0n;
  while (j < BigInt(buckets)) {
    b = j;
    key = (key * 2862933555777941757n + 1n) & MASK64;
    // j = (b + 1) * (double(1LL << 31) / double((key >> 33) + 1)), truncated to an integer
    j = BigInt(Math.floor(Number(b + 1n) * (2 ** 31 / Number((key >> 33n) + 1n))));
  }
  return Number(b);
}

/** Deterministic pseudo-random 32-bit keys (xorshift32). */
function keys(count: number, seed = 0x9e3779b9): number[] {
  const out: number[] = [];
  let x = seed >>> 0;
  for (let i = 0; i < count; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out.push(x);
  }
  return out;
}

describe('fnv1a', () => {
  it.each([
    ['', 0x811c9dc5],
    ['a', 0xe40c292c],
    ['foobar', 0xbf9cf968],
  ])('matches the published FNV-1a 32-bit vector for %j', (s, h) => {
    expect(fnv1a(s)).toBe(h);
  });

  it('returns an unsigned 32-bit integer', () => {
    for (const s of ['chat:x', 'user:teams:abc', '💬', 'x'.repeat(10_000)]) {
      const h = fnv1a(s);
      expect(Number.isInteger(h)).toBe(true);
      expect(h).toBeGreaterThanOrEqual(0);
      expect(h).toBeLessThan(2 ** 32);
    }
  });

  it('is deterministic and sensitive to every character', () => {
    expect(fnv1a('chat:abc')).toBe(fnv1a('chat:abc'));
    expect(fnv1a('chat:abc')).not.toBe(fnv1a('chat:abd'));
    expect(fnv1a('chat:abc')).not.toBe(fnv1a('chat:ab'));
  });
});

describe('jumpHash', () => {
  // Vectors used by common ports of the algorithm (e.g. Go's dgryski/go-jump).
  it.each([
    [1, 1, 0],
    [42, 57, 43],
    [0xdead10cc, 1, 0],
    [0xdead10cc, 666, 361],
    [256, 1024, 520],
  ])('jumpHash(%i, %i) = %i (known vector) and agrees with the reference', (key, n, want) => {
    expect(referenceJump(key, n)).toBe(want);
    expect(jumpHash(key, n)).toBe(want);
  });

  it('matches a BigInt reference implementation for many keys and bucket counts', () => {
    const edgeKeys = [0, 1, 2, 0x7fffffff, 0x80000000, 0xffffffff, 0xdeadbeef];
    const sample = [...edgeKeys, ...keys(2000)];
    const bucketCounts = [1, 2, 3, 4, 5, 7, 8, 10, 16, 31, 32, 33, 64, 100, 1000, 65_536, 1 << 20];
    let mismatches = 0;
    const firstMismatches: string[] = [];
    for (const n of bucketCounts) {
      for (const k of sample) {
        const got = jumpHash(k, n);
        const want = referenceJump(k, n);
        if (got !== want) {
          mismatches++;
          if (firstMismatches.length < 5) firstMismatches.push(`key=${k} n=${n}: got ${got}, want ${want}`);
        }
      }
    }
    expect(firstMismatches).toEqual([]);
    expect(mismatches).toBe(0);
  });

  it('matches the reference for negative and non-uint32 inputs (as their uint32 value)', () => {
    for (const k of [-1, -123456, 2 ** 32 + 5]) {
      expect(jumpHash(k, 16)).toBe(referenceJump(k, 16));
    }
  });

  it('maps every key to 0 with one bucket, and into [0, n) otherwise', () => {
    for (const k of keys(500)) {
      expect(jumpHash(k, 1)).toBe(0);
      for (const n of [2, 9, 64]) {
        const b = jumpHash(k, n);
        expect(Number.isInteger(b)).toBe(true);
        expect(b).toBeGreaterThanOrEqual(0);
        expect(b).toBeLessThan(n);
      }
    }
  });

  it('spreads keys roughly evenly across buckets', () => {
    const n = 8;
    const sample = keys(80_000);
    const counts = new Array<number>(n).fill(0);
    for (const k of sample) counts[jumpHash(k, n)]! += 1;
    const mean = sample.length / n;
    for (const c of counts) expect(Math.abs(c - mean) / mean).toBeLessThan(0.05);
  });

  it('spreads fnv1a-hashed actor keys roughly evenly (shardOf)', () => {
    const n = 6;
    const counts = new Array<number>(n).fill(0);
    const total = 60_000;
    for (let i = 0; i < total; i++) counts[shardOf(`chat:teams:user-${i}|xmpp:peer-${i % 97}@x.example`, n)]! += 1;
    for (const c of counts) expect(Math.abs(c - total / n) / (total / n)).toBeLessThan(0.05);
  });

  it('is consistent: growing from n to n+1 buckets moves ~1/(n+1) keys, only to the new bucket', () => {
    const sample = keys(20_000, 12345);
    for (let n = 1; n <= 24; n++) {
      let moved = 0;
      for (const k of sample) {
        const before = jumpHash(k, n);
        const after = jumpHash(k, n + 1);
        if (before !== after) {
          moved++;
          expect(after).toBe(n);
        }
      }
      const expected = sample.length / (n + 1);
      expect(Math.abs(moved - expected) / expected).toBeLessThan(0.1);
    }
  });
});

describe('shardOf', () => {
  it('is 0 for one shard (or fewer)', () => {
    expect(shardOf('chat:anything', 1)).toBe(0);
    expect(shardOf('chat:anything', 0)).toBe(0);
  });

  it('is jumpHash(fnv1a(key)) and stable across calls', () => {
    for (const key of ['user:teams:alice', 'chat:a|b', '']) {
      expect(shardOf(key, 5)).toBe(jumpHash(fnv1a(key), 5));
      expect(shardOf(key, 5)).toBe(shardOf(key, 5));
    }
  });
});
