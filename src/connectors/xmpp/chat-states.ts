import { RecentKeys } from '../../core/recent-keys.ts';

/**
 * What each XMPP peer last heard of a Parley user's XEP-0085 chat state, so
 * that a chat message carries `<active/>` only when it tells the peer
 * something: the first message of a conversation (which is how XEP-0085
 * offers chat states) and the first one after a typing notification (which
 * ends it). Repeating `<active/>` on every message costs the XMPP server
 * about an eighth of its work per message. Bounded: a pair pushed out, or
 * forgotten after a failed write, simply gets `<active/>` again.
 */
export class ChatStateMemory {
  /** Pairs (`from\nto`) whose peer knows the sender as active, the most recent `maxPairs`. */
  private readonly active: RecentKeys;

  constructor(maxPairs: number) {
    this.active = new RecentKeys(maxPairs);
  }

  /** Whether a chat message from -> to should carry `<active/>`; afterwards the peer knows the sender as active. */
  announceActive(from: string, to: string): boolean {
    const key = `${from}\n${to}`;
    if (this.active.has(key)) return false;
    this.remember(key);
    return true;
  }

  /** A chat state notification went from -> to: only `active` leaves the peer knowing the sender as active. */
  stateSent(from: string, to: string, state: string): void {
    const key = `${from}\n${to}`;
    if (state === 'active') this.remember(key);
    else this.active.delete(key);
  }

  private remember(key: string): void {
    if (!this.active.has(key)) this.active.add(key);
  }

  /** After a write that may not have arrived: every pair starts over. */
  forget(): void {
    if (this.active.size > 0) this.active.clear();
  }

  get size(): number {
    return this.active.size;
  }
}
