/** FNV-1a, 32 bit, over UTF-16 code units: cheap and well spread for actor keys. */
export function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * Jump consistent hash (Lamping & Veach): maps a key to one of n buckets and
 * moves only ~1/n of keys when n grows by one.
 */
export function jumpHash(key: number, buckets: number): number {
  let b = -1;
  let j = 0;
  // 64-bit LCG split in two 32-bit halves to stay in exact integer arithmetic.
  let hi = 0;
  let lo = key >>> 0;
  while (j < buckets) {
    b = j;
    // state = state * 2862933555777941757 + 1 (mod 2^64)
    const aHi = 0x27bb2ee6;
    const aLo = 0x87b0b0fd;
    const loProd = BigInt(lo) * BigInt(aLo);
    const newLo = Number(loProd & 0xffffffffn);
    const carry = Number(loProd >> 32n);
    const newHi = (Math.imul(hi, aLo) + Math.imul(lo, aHi) + carry) >>> 0;
    lo = (newLo + 1) >>> 0;
    hi = lo === 0 ? (newHi + 1) >>> 0 : newHi;
    j = Math.floor((b + 1) * (2 ** 31 / ((hi >>> 1) + 1)));
  }
  return b;
}

export function shardOf(key: string, shards: number): number {
  return shards <= 1 ? 0 : jumpHash(fnv1a(key), shards);
}
