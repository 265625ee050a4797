import type { Redis } from 'ioredis';
import { Packr } from 'msgpackr';

const packr = new Packr({ useRecords: false });
const PIPELINE = 1000;
const IN_FLIGHT = 8;

/** Actor state snapshots in Redis, one key per actor, read and written in batches. */
export class SnapshotStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly ttlSeconds: number,
    private readonly onCorrupt?: (actor: string, err: unknown) => void,
  ) {}

  private key(actor: string): string {
    return `${this.prefix}:actor:${actor}`;
  }

  async loadMany(actors: readonly string[]): Promise<Array<unknown | undefined>> {
    if (actors.length === 0) return [];
    const raw = await this.redis.mgetBuffer(...actors.map((a) => this.key(a)));
    return raw.map((b, i) => {
      if (!b) return undefined;
      try {
        return packr.unpack(b) as unknown;
      } catch (err) {
        // One unreadable snapshot must not hold up the actors loaded with it: that actor starts afresh.
        this.onCorrupt?.(actors[i] as string, err);
        return undefined;
      }
    });
  }

  /** Key and stored bytes of each state, for a caller that writes them in its own transaction. */
  encode(entries: ReadonlyArray<readonly [string, unknown]>): Array<[key: string, value: Buffer]> {
    return entries.map(([actor, state]) => [this.key(actor), packr.pack(state)]);
  }

  get ttl(): number {
    return this.ttlSeconds;
  }

  /** Writes in pipelines of a bounded size: one huge pipeline is far slower than many small ones. */
  async saveMany(entries: ReadonlyArray<readonly [string, unknown]>): Promise<void> {
    // A few pipelines in flight at a time: memory stays flat for a million states.
    for (let base = 0; base < entries.length; base += PIPELINE * IN_FLIGHT) {
      const writes: Array<Promise<Array<[Error | null, unknown]> | null>> = [];
      for (let i = base; i < Math.min(entries.length, base + PIPELINE * IN_FLIGHT); i += PIPELINE) {
        const p = this.redis.pipeline();
        for (const [actor, state] of entries.slice(i, i + PIPELINE)) p.set(this.key(actor), packr.pack(state), 'EX', this.ttlSeconds);
        writes.push(p.exec());
      }
      for (const res of await Promise.all(writes)) {
        const failed = res?.find(([err]) => err);
        if (failed) throw failed[0];
      }
    }
  }
}
