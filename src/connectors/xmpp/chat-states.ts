import { RecentKeys } from '../../core/recent-keys.ts';

/** One sender -> recipient pair (a newline cannot occur in a JID). */
const pairKey = (from: string, to: string): string => `${from}\n${to}`;

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
    const key = pairKey(from, to);
    if (this.active.has(key)) return false;
    this.remember(key);
    return true;
  }

  /** A chat state notification went from -> to: only `active` leaves the peer knowing the sender as active. */
  stateSent(from: string, to: string, state: string): void {
    const key = pairKey(from, to);
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

/**
 * Which XMPP users are composing to which Parley user, so that a standalone
 * XEP-0085 chat state goes on only when it changes whether "typing" should
 * show: `composing` (always: clients repeat it to keep the indicator alive),
 * and the first other state after it, which ends it. Clients send `<active/>`,
 * `<inactive/>` and `<gone/>` on every focus change; each would otherwise be a
 * typing envelope through the whole pipeline with nothing to show. A chat
 * message ends composing too. Bounded: a pair pushed out only loses its stop,
 * and a typing indicator ends by itself.
 */
export class ComposingMemory {
  private readonly composing: RecentKeys;

  constructor(maxPairs: number) {
    this.composing = new RecentKeys(maxPairs);
  }

  /** Whether a standalone chat state from -> to changes anything (and remembers it). */
  stateChanges(from: string, to: string, state: string): boolean {
    const key = pairKey(from, to);
    if (state === 'composing') {
      if (!this.composing.has(key)) this.composing.add(key);
      return true;
    }
    if (!this.composing.has(key)) return false;
    this.composing.delete(key);
    return true;
  }

  /** A chat message from -> to ends its sender's composing. */
  messageSent(from: string, to: string): void {
    this.composing.delete(pairKey(from, to));
  }
}
