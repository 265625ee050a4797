import { addressKey } from '../src/core/address.ts';
import type { Envelope } from '../src/core/envelope.ts';
import { forward, gate, remember } from './common.ts';
import type { Behaviour } from './types.ts';

export type ContactState = 'pending-out' | 'pending-in' | 'accepted';

export interface Contact {
  state: ContactState;
  since: number;
  /** Who sent the first request: the internal user (`out`) or the external party (`in`). */
  askedBy?: 'out' | 'in';
}

/**
 * One internal user's session: own presence, and the contact relationships
 * with external users (who asked first, accepted or pending).
 */
export interface UserState {
  presence?: { show: string; status?: string; ts: number };
  contacts: Record<string, Contact>;
  recent: string[];
}

function withContact(contacts: Record<string, Contact>, key: string, c: Contact | undefined): Record<string, Contact> {
  const next = { ...contacts };
  if (c) next[key] = c;
  else delete next[key];
  return next;
}

/** The new state, or undefined when the envelope makes no sense in the current state (dropped). */
function applyContact(state: UserState, env: Envelope, outbound: boolean, now: number): UserState | undefined {
  const peer = addressKey(outbound ? env.to : env.from);
  const current = state.contacts[peer];
  if (env.type === 'contact-request') {
    if (current?.state === 'accepted') return state;
    const next: Contact = { state: outbound ? 'pending-out' : 'pending-in', since: now, askedBy: current?.askedBy ?? (outbound ? 'out' : 'in') };
    return { ...state, contacts: withContact(state.contacts, peer, next) };
  }
  if (env.type === 'contact-response') {
    // RFC 6121 3.1.5: an approval nobody asked for is ignored.
    if (env.decision === 'accepted' && current?.state !== (outbound ? 'pending-in' : 'pending-out')) {
      return current?.state === 'accepted' ? state : undefined;
    }
    const next: Contact | undefined =
      env.decision === 'accepted' ? { state: 'accepted', since: current?.since ?? now, ...(current?.askedBy ? { askedBy: current.askedBy } : {}) } : undefined;
    return { ...state, contacts: withContact(state.contacts, peer, next) };
  }
  return state;
}

export const userSessionBehaviour: Behaviour<UserState> = {
  kind: 'user',
  initial: () => ({ contacts: {}, recent: [] }),
  receive(state, input, ctx) {
    const env = input.env;
    if (state.recent.includes(env.id)) return { state, effects: [], outcome: 'duplicate' };
    const blocked = gate(state, input, ctx);
    if (blocked) return blocked;
    let next: UserState = { ...state, recent: remember(state.recent, env.id) };
    const outbound = ctx.policy.isLocal(env.from);
    if (env.type === 'presence' && outbound) {
      next = { ...next, presence: { show: env.show, ts: env.ts, ...(env.status !== undefined ? { status: env.status } : {}) } };
    } else if (env.type === 'contact-request' || env.type === 'contact-response') {
      const applied = applyContact(next, env, outbound, ctx.now);
      if (!applied) return { state: next, effects: [], outcome: 'accepted' };
      next = applied;
    }
    return { state: next, effects: [forward(env)], outcome: 'accepted' };
  },
};
