import type { Redis } from 'ioredis';
import { RedisScript } from '../state/script.ts';

/**
 * Sets each mark key with the same expiry, then drops each delivered job that
 * is still delayed (neither promoted nor taken by the consumer) with its keys.
 * KEYS: marks (ARGV[2] of them), then per job its queue's delayed set and its key. ARGV: ttl, mark count, job ids.
 */
const MARK_AND_DROP = new RedisScript(`
local marks = tonumber(ARGV[2])
for i = 1, marks do
  redis.call('SET', KEYS[i], '1', 'EX', ARGV[1])
end
local dropped = 0
for j = 3, #ARGV do
  local k = marks + (j - 3) * 2 + 1
  if redis.call('ZREM', KEYS[k], ARGV[j]) == 1 then
    redis.call('DEL', KEYS[k + 1], KEYS[k + 1] .. ':logs')
    dropped = dropped + 1
  end
end
return dropped`);

/** The Redis key of an item's delivered mark. */
export function markKey(prefix: string, itemKey: string): string {
  return `${prefix}:dlv:${itemKey}`;
}

/** A delayed BullMQ job: its queue's key prefix (`<prefix>:<queue>`) and its id. */
export interface DelayedJobRef {
  queueKey: string;
  jobId: string;
}

interface Waiter<T> {
  keys: readonly string[];
  resolve(v: T): void;
  reject(e: unknown): void;
}

/**
 * Delivered-message marks: a redelivered item whose key is marked is skipped.
 * Checks and marks asked for in the same turn of the event loop (by many chats
 * at once) go to Redis as one MGET and one script call, which also drops the
 * delayed jobs the fast path has delivered. Under Redis Cluster the prefix
 * must carry a hash tag, as BullMQ's does.
 */
export class DeliveryMarks {
  private checks: Array<Waiter<boolean[]>> = [];
  private marks: Array<Waiter<void>> = [];
  private drops: Array<DelayedJobRef & { resolve(): void; reject(e: unknown): void }> = [];
  private scheduled = false;
  /** Mark-and-drop calls in flight: one at a time, what comes meanwhile goes in the next. */
  private marking = false;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly ttlSeconds: number,
  ) {}

  private k(key: string): string {
    return markKey(this.prefix, key);
  }

  delivered(keys: readonly string[]): Promise<boolean[]> {
    if (keys.length === 0) return Promise.resolve([]);
    return new Promise((resolve, reject) => {
      this.checks.push({ keys, resolve, reject });
      this.schedule();
    });
  }

  /** Marks `keys` delivered; `drops` go in the same script call (see `dropDelayed`). */
  mark(keys: readonly string[], drops: readonly DelayedJobRef[] = []): Promise<void> {
    if (keys.length === 0 && drops.length === 0) return Promise.resolve();
    for (const d of drops) this.drops.push({ ...d, resolve: () => undefined, reject: () => undefined });
    return new Promise((resolve, reject) => {
      this.marks.push({ keys, resolve, reject });
      this.schedule();
    });
  }

  /**
   * Removes a job the fast path has delivered, if it is still delayed; one
   * the consumer has taken meanwhile is left to it (it skips marked items).
   */
  dropDelayed(job: DelayedJobRef): Promise<void> {
    return new Promise((resolve, reject) => {
      this.drops.push({ ...job, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      const checks = this.checks;
      this.checks = [];
      if (checks.length > 0) void this.runChecks(checks);
      this.startMarks();
    });
  }

  /**
   * Under load, marks from many chats and many turns share one script call:
   * each call wakes Redis and then this thread, which costs more than the
   * marks themselves when a call carries only a few.
   */
  private startMarks(): void {
    if (this.marking || (this.marks.length === 0 && this.drops.length === 0)) return;
    const marks = this.marks;
    const drops = this.drops;
    this.marks = [];
    this.drops = [];
    this.marking = true;
    void this.runMarks(marks, drops).finally(() => {
      this.marking = false;
      this.startMarks();
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

  private async runMarks(waiters: Array<Waiter<void>>, drops: Array<DelayedJobRef & { resolve(): void; reject(e: unknown): void }>): Promise<void> {
    const keys = waiters.flatMap((w) => w.keys.map((key) => this.k(key)));
    const marks = keys.length;
    for (const d of drops) keys.push(`${d.queueKey}:delayed`, `${d.queueKey}:${d.jobId}`);
    try {
      await MARK_AND_DROP.run(this.redis, keys, [String(this.ttlSeconds), String(marks), ...drops.map((d) => d.jobId)]);
      for (const w of waiters) w.resolve();
      for (const d of drops) d.resolve();
    } catch (err) {
      for (const w of waiters) w.reject(err);
      for (const d of drops) d.reject(err);
    }
  }
}
