import type { Redis } from 'ioredis';

/** Delivered-message marks: a redelivered item whose key is marked is skipped. */
export class DeliveryMarks {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly ttlSeconds: number,
  ) {}

  private k(key: string): string {
    return `${this.prefix}:dlv:${key}`;
  }

  async delivered(keys: readonly string[]): Promise<boolean[]> {
    if (keys.length === 0) return [];
    const p = this.redis.pipeline();
    for (const key of keys) p.exists(this.k(key));
    const res = (await p.exec()) ?? [];
    return res.map(([err, v]) => {
      if (err) throw err;
      return v === 1;
    });
  }

  async mark(keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return;
    const p = this.redis.pipeline();
    for (const key of keys) p.set(this.k(key), '1', 'EX', this.ttlSeconds);
    const res = (await p.exec()) ?? [];
    const failed = res.find(([err]) => err);
    if (failed) throw failed[0];
  }
}
