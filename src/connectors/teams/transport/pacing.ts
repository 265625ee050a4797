/**
 * Spaces sends so that none exceeds its conversation's or its tenant's rate:
 * each key has the earliest time its next send may go. A send goes at the
 * later of both slots; one that would wait too long is refused (the caller
 * hands it back to the queue) without reserving anything. In-process only:
 * several Parley nodes each pace their own sends.
 */
export class Pacer {
  private readonly next = new Map<string, number>();
  private sweepAt = 0;

  constructor(
    private readonly perConversationMs: number,
    private readonly perTenantMs: number,
    private readonly maxWaitMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Milliseconds to wait before sending, or undefined: too long, try later (see `waitHint`). */
  reserve(conversation: string, tenant: string): number | undefined {
    const now = this.now();
    this.sweep(now);
    const c = `c:${conversation}`;
    const t = `t:${tenant}`;
    const slotT = Math.max(now, this.next.get(t) ?? 0);
    const slot = Math.max(slotT, this.next.get(c) ?? 0);
    if (slot - now > this.maxWaitMs) return undefined;
    this.next.set(c, slot + this.perConversationMs);
    // The tenant's slot is taken where it was free, even when the conversation makes this send wait longer.
    this.next.set(t, slotT + this.perTenantMs);
    return slot - now;
  }

  /** How long until a send to this conversation could go. */
  waitHint(conversation: string, tenant: string): number {
    const now = this.now();
    return Math.max(0, (this.next.get(`c:${conversation}`) ?? 0) - now, (this.next.get(`t:${tenant}`) ?? 0) - now);
  }

  /** The channel asked this conversation to slow down: nothing goes to it before `ms` from now. */
  holdOff(conversation: string, ms: number): void {
    const c = `c:${conversation}`;
    this.next.set(c, Math.max(this.next.get(c) ?? 0, this.now() + ms));
  }

  private sweep(now: number): void {
    if (now < this.sweepAt) return;
    this.sweepAt = now + 10_000;
    for (const [k, at] of this.next) if (at < now) this.next.delete(k);
  }
}
