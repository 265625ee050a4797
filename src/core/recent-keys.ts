/**
 * The last `capacity` keys added, for membership tests: a ring of slots and a
 * map from key to its newest slot. Adding is O(1) whatever the batch size; a
 * Set trimmed from its front is not (V8 walks the deleted entries again on
 * every iteration until it rehashes).
 */
export class RecentKeys {
  private readonly ring: Array<string | undefined>;
  private readonly slots = new Map<string, number>();
  private next = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError('RecentKeys: capacity must be a positive integer');
    this.ring = new Array<string | undefined>(capacity);
  }

  get size(): number {
    return this.slots.size;
  }

  has(key: string): boolean {
    return this.slots.has(key);
  }

  /** Forgets `key` now (its slot is reused in turn; an older slot never brings it back). */
  delete(key: string): void {
    this.slots.delete(key);
  }

  clear(): void {
    this.slots.clear();
    this.ring.fill(undefined);
    this.next = 0;
  }

  add(key: string): void {
    const slot = this.next;
    const old = this.ring[slot];
    // A key added again since lives in a newer slot: only its newest slot forgets it.
    if (old !== undefined && this.slots.get(old) === slot) this.slots.delete(old);
    this.ring[slot] = key;
    this.slots.set(key, slot);
    this.next = slot + 1 === this.capacity ? 0 : slot + 1;
  }
}
