/** What the window saw: for metrics and for telling whether it limits throughput. */
export interface WindowStats {
  /** Writes confirmed, and the time from their socket write to their pong. */
  confirmed: number;
  pongWaitMs: number;
  /** Time writes spent waiting for room before going out. */
  roomWaitMs: number;
  /** Time with nothing unconfirmed (the server had nothing of ours to work on). */
  emptyMs: number;
  /** Time with a write waiting for room (the window, not the caller, held writes back). */
  fullMs: number;
  /** ∫ unconfirmed bytes dt, in byte·ms: divided by the elapsed time, the mean bytes in flight. */
  byteMs: number;
}

/**
 * Bytes written and not yet confirmed, bounded: writes take room in order,
 * a write bigger than the window goes alone, and the time the window spends
 * empty or full is accounted. Pure bookkeeping, no I/O.
 */
export class WriteWindow {
  private unconfirmed = 0;
  private readonly waiters: Array<{ bytes: number; go(): void }> = [];
  private lastChange = performance.now();
  readonly stats: WindowStats = { confirmed: 0, pongWaitMs: 0, roomWaitMs: 0, emptyMs: 0, fullMs: 0, byteMs: 0 };

  constructor(private readonly limit: number) {}

  get inFlight(): number {
    return this.unconfirmed;
  }

  /**
   * Resolves once `bytes` are taken: when they fit (or nothing else is in
   * flight), in order of asking. Every acquire is followed by one release.
   */
  async acquire(bytes: number): Promise<void> {
    if (this.waiters.length === 0 && this.fits(bytes)) return this.take(bytes);
    const at = performance.now();
    this.account();
    await new Promise<void>((go) => this.waiters.push({ bytes, go }));
    this.stats.roomWaitMs += performance.now() - at;
  }

  /** Gives back `bytes` taken by acquire; `sentAt` is when they were written, for the pong wait (omit for a write that failed). */
  release(bytes: number, sentAt?: number): void {
    this.account();
    this.unconfirmed -= bytes;
    if (sentAt !== undefined) {
      this.stats.confirmed++;
      this.stats.pongWaitMs += performance.now() - sentAt;
    }
    this.wake();
  }

  /** Lets every waiting writer go (the stream went; each finds out for itself and releases). */
  wakeAll(): void {
    this.account();
    for (const w of this.waiters.splice(0)) {
      this.unconfirmed += w.bytes;
      w.go();
    }
  }

  /** Brings the time accounting up to now (before reading stats). */
  account(): void {
    const t = performance.now();
    const dt = t - this.lastChange;
    this.lastChange = t;
    if (this.unconfirmed === 0) this.stats.emptyMs += dt;
    if (this.waiters.length > 0) this.stats.fullMs += dt;
    this.stats.byteMs += this.unconfirmed * dt;
  }

  private fits(bytes: number): boolean {
    return this.unconfirmed === 0 || this.unconfirmed + bytes <= this.limit;
  }

  private take(bytes: number): void {
    this.account();
    this.unconfirmed += bytes;
  }

  /** Hands room to waiting writers in order, taking it on their behalf (so two wakes never promise the same room). */
  private wake(): void {
    for (let w = this.waiters[0]; w && this.fits(w.bytes); w = this.waiters[0]) {
      this.waiters.shift();
      this.unconfirmed += w.bytes;
      w.go();
    }
  }
}
