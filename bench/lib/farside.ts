import type { LoopbackConnector, LoopbackDelivery } from '../../src/connectors/loopback/loopback.ts';

/**
 * What the far side of one phase saw: distinct ids with the phase's prefix,
 * duplicates, and (for ids given a start time) the latency of each first arrival.
 */
export class Phase {
  readonly seen = new Set<string>();
  duplicates = 0;
  /** performance.now() when the last expected id arrived. */
  completedAt = 0;
  readonly latencies: number[] = [];
  private readonly startedAt = new Map<string, number>();
  private resolveDone: (() => void) | undefined;
  private readonly finished: Promise<void>;

  constructor(
    readonly prefix: string,
    readonly expected: number,
  ) {
    this.finished = new Promise<void>((r) => (this.resolveDone = r));
  }

  /** Records the moment `id` was handed to the hub, for latency. */
  started(id: string, at: number): void {
    this.startedAt.set(id, at);
  }

  arrived(id: string, now: number): void {
    if (this.seen.has(id)) {
      this.duplicates++;
      return;
    }
    this.seen.add(id);
    const t = this.startedAt.get(id);
    if (t !== undefined) {
      this.latencies.push(now - t);
      this.startedAt.delete(id);
    }
    if (this.seen.size === this.expected) {
      this.completedAt = now;
      this.resolveDone?.();
    }
  }

  /**
   * Resolves with the completion time once every expected id has arrived;
   * throws (loudly) if the far side makes no progress for `stallMs`.
   */
  async done(stallMs = 30_000): Promise<number> {
    await this.waitFor(this.expected, stallMs);
    await this.finished;
    return this.completedAt;
  }

  /**
   * Resolves once `count` distinct ids have arrived (for a phase whose due
   * count is known only at its end, e.g. what a load generator saw
   * acknowledged); throws (loudly) if the far side makes no progress for `stallMs`.
   */
  async waitFor(count: number, stallMs = 30_000): Promise<void> {
    let lastCount = -1;
    let lastChange = performance.now();
    while (this.seen.size < count) {
      if (this.seen.size !== lastCount) {
        lastCount = this.seen.size;
        lastChange = performance.now();
      } else if (performance.now() - lastChange > stallMs) {
        throw new Error(
          `MESSAGES LOST: phase "${this.prefix}": the far side received ${this.seen.size} of ${count} distinct ids ` +
            `(${count - this.seen.size} missing) and nothing new arrived for ${stallMs / 1000} s`,
        );
      }
      await Promise.race([this.finished, new Promise((r) => setTimeout(r, 50))]);
    }
  }
}

/** Watches a loopback connector's deliveries and credits them to the current phase by id prefix. */
export class FarSide {
  private phase: Phase | undefined;
  /** Deliveries that belonged to no current phase (late duplicates of an earlier one). */
  strays = 0;
  private readonly unsubscribe: () => void;

  constructor(loopback: LoopbackConnector) {
    this.unsubscribe = loopback.onDelivered((list) => this.onDelivered(list));
  }

  expect(prefix: string, expected: number): Phase {
    const phase = new Phase(`${prefix}-`, expected);
    this.phase = phase;
    return phase;
  }

  private onDelivered(list: readonly LoopbackDelivery[]): void {
    const now = performance.now();
    const phase = this.phase;
    for (const d of list) {
      const id = d.env.id;
      if (phase && id.startsWith(phase.prefix)) phase.arrived(id, now);
      else this.strays++;
    }
  }

  close(): void {
    this.unsubscribe();
  }
}
