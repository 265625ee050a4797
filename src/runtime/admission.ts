/**
 * How many messages one shard may have unacknowledged, and who goes next when
 * it is full. Waiters are served first come first served, and a slot freed
 * for a waiter is taken for it before it wakes: a caller arriving meanwhile
 * (say, one sending its next message as soon as its last was acknowledged)
 * queues behind, so a chat's waiting messages keep their order.
 */
export class Admission {
  private inflight = 0;
  /** Woken with true when a slot is theirs, false when the shard is gone. */
  private readonly waiters: Array<(granted: boolean) => void> = [];

  constructor(private readonly limit: number) {}

  get size(): number {
    return this.inflight;
  }

  get waiting(): number {
    return this.waiters.length;
  }

  /** Takes a slot if one is free and nobody waits for it. */
  tryEnter(): boolean {
    if (this.inflight >= this.limit || this.waiters.length > 0) return false;
    this.inflight++;
    return true;
  }

  /**
   * Waits for a slot: true once it is taken for the caller, false if the
   * shard went away meanwhile; undefined at once when `limit` callers already
   * wait (the sender should come back later).
   */
  wait(): Promise<boolean> | undefined {
    if (this.waiters.length >= this.limit) return undefined;
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** `n` messages were answered: their slots go to the waiters first. */
  leave(n = 1): void {
    this.inflight = Math.max(0, this.inflight - n);
    while (this.inflight < this.limit && this.waiters.length > 0) {
      this.inflight++;
      this.waiters.shift()?.(true);
    }
  }

  /** The shard is gone: nothing is in flight here any more, and every waiter hears so. */
  reset(): void {
    this.inflight = 0;
    for (const w of this.waiters.splice(0)) w(false);
  }
}
