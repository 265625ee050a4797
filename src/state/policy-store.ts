import type { Redis } from 'ioredis';
import { ParleyError } from '../core/errors.ts';
import { policySnapshotSchema, type PolicySnapshot } from '../core/policy.ts';

/**
 * The federation policy in Redis: one JSON document with a version, seeded
 * from config on first start, and a pub/sub channel announcing every change
 * so each node and shard switches at once.
 */
export class PolicyStore {
  private readonly key: string;
  readonly channel: string;

  constructor(
    private readonly redis: Redis,
    prefix: string,
  ) {
    this.key = `${prefix}:policy`;
    this.channel = `${prefix}:policy:changed`;
  }

  async load(): Promise<PolicySnapshot | undefined> {
    const raw = await this.redis.get(this.key);
    if (!raw) return undefined;
    const parsed = policySnapshotSchema.safeParse(JSON.parse(raw));
    if (!parsed.success) throw new ParleyError('INTERNAL', `stored policy is invalid: ${parsed.error.message}`);
    return parsed.data;
  }

  /** Stores the seed only when no policy exists yet; returns the one in force. */
  async seed(initial: Omit<PolicySnapshot, 'version'>): Promise<PolicySnapshot> {
    const snapshot: PolicySnapshot = { ...initial, version: 1 };
    await this.redis.set(this.key, JSON.stringify(snapshot), 'NX');
    const current = await this.load();
    if (!current) throw new ParleyError('INTERNAL', 'policy vanished after seeding');
    return current;
  }

  /** Replaces the policy (version bumped) and announces it. */
  async update(change: (current: PolicySnapshot) => Omit<PolicySnapshot, 'version'>): Promise<PolicySnapshot> {
    for (;;) {
      await this.redis.watch(this.key);
      const current = await this.load();
      if (!current) {
        await this.redis.unwatch();
        throw new ParleyError('INTERNAL', 'no policy to update');
      }
      const next: PolicySnapshot = policySnapshotSchema.parse({ ...change(current), version: current.version + 1 });
      const res = await this.redis.multi().set(this.key, JSON.stringify(next)).publish(this.channel, String(next.version)).exec();
      if (res) return next;
    }
  }
}
