import type { Envelope } from '../../core/envelope.ts';
import type { PresenceShow } from './inbound-presence.ts';

type PresenceEnvelope = Extract<Envelope, { type: 'presence' }>;

const RANK: Record<PresenceShow, number> = { available: 4, dnd: 3, away: 2, xa: 1, offline: 0 };

interface Pair {
  resources: Map<string, PresenceEnvelope>;
  /** What the other side was last told. */
  sent?: string;
}

/**
 * Folds each contact's resources into one presence per (contact, user) pair
 * and forwards only changes, at most once per interval: a flood of updates
 * costs a map entry per pair, never a message each.
 */
export class PresenceCoalescer {
  private readonly pairs = new Map<string, Pair>();
  private readonly dirty = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  received = 0;
  forwarded = 0;

  constructor(
    private readonly intervalMs: number,
    private readonly maxPairs: number,
    private readonly forward: (envs: PresenceEnvelope[]) => void,
  ) {}

  get size(): number {
    return this.pairs.size;
  }

  offer(env: PresenceEnvelope, resource: string): void {
    this.received++;
    const key = `${env.from.id}\u0000${env.to.id}`;
    let pair = this.pairs.get(key);
    if (!pair) {
      if (this.pairs.size >= this.maxPairs) this.flush();
      pair = { resources: new Map() };
      this.pairs.set(key, pair);
    }
    pair.resources.delete(resource);
    pair.resources.set(resource, env);
    this.dirty.add(key);
    this.timer ??= setTimeout(() => this.flush(), this.intervalMs);
  }

  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const out: PresenceEnvelope[] = [];
    for (const key of this.dirty) {
      const pair = this.pairs.get(key);
      if (!pair) continue;
      let best: PresenceEnvelope | undefined;
      let latest: PresenceEnvelope | undefined;
      for (const [res, env] of pair.resources) {
        if (!latest || env.ts >= latest.ts) latest = env;
        if (env.show === 'offline') {
          pair.resources.delete(res);
          continue;
        }
        if (!best || RANK[env.show] > RANK[best.show] || (RANK[env.show] === RANK[best.show] && env.ts >= best.ts)) best = env;
      }
      const chosen = best ?? (latest ? { ...latest, show: 'offline' as const } : undefined);
      if (!chosen) continue;
      const sig = `${chosen.show}\u0000${chosen.status ?? ''}`;
      if (sig !== pair.sent) {
        pair.sent = sig;
        out.push(chosen);
      }
      if (pair.resources.size === 0) this.pairs.delete(key);
    }
    this.dirty.clear();
    if (out.length) {
      this.forwarded += out.length;
      this.forward(out);
    }
  }

  stop(): void {
    this.flush();
  }
}
