import type { Redis } from 'ioredis';
import { RedisScript } from '../state/script.ts';

/** Sets each key with the same expiry. */
const MARK_ALL = new RedisScript(`
for i = 1, #KEYS do
  redis.call('SET', KEYS[i], '1', 'EX', ARGV[1])
end
return #KEYS`);

interface Waiter<T> {
  keys: readonly string[];
  resolve(v: T): void;
  reject(e: unknown): void;
}

/**
 * Delivered-message marks: a redelivered item whose key is marked is skipped.
 * Checks and marks asked for in the same turn of the event loop (by many chats
 * at once) go to Redis as one MGET and one script call. Under Redis Cluster the
 * prefix must carry a hash tag, as BullMQ's does.
 */
export class DeliveryMarks {
  private checks: Array<Waiter<boolean[]>> = [];
  private marks: Array<Waiter<void>> = [];
  private scheduled = false;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly ttlSeconds: number,
  ) {}

  private k(key: string): string {
    return `${this.prefix}:dlv:${key}`;
  }

  delivered(keys: readonly string[]): Promise<boolean[]> {
    if (keys.length === 0) return Promise.resolve([]);
    return new Promise((resolve, reject) => {
      this.checks.push({ keys, resolve, reject });
      this.schedule();
    });
  }

  mark(keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.marks.push({ keys, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      const checks = this.checks;
      const marks = this.marks;
      this.checks = [];
      this.marks = [];
      if (checks.length > 0) void this.runChecks(checks);
      if (marks.length > 0) void this.runMarks(marks);
    });
  }

  private async runChecks(waiters: Array<Waiter<boolean[]>>): Promise<void> {
    try {
      const values = await this.redis.mget(waiters.flatMap((w) => w.keys.map((key) => this.k(key))));
      let i = 0;
      for (const w of waiters) {
        w.resolve(values.slice(i, i + w.keys.length).map((v) => v !== null));
        i += w.keys.length;
      }
    } catch (err) {
      for (const w of waiters) w.reject(err);
    }
  }

  private async runMarks(waiters: Array<Waiter<void>>): Promise<void> {
    try {
      await MARK_ALL.run(this.redis, waiters.flatMap((w) => w.keys.map((key) => this.k(key))), [String(this.ttlSeconds)]);
      for (const w of waiters) w.resolve();
    } catch (err) {
      for (const w of waiters) w.reject(err);
    }
  }
}
