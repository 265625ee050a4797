import { forward, gate, remember } from './common.ts';
import type { Behaviour } from './types.ts';

/**
 * A conversation (1:1 pair or group): everything in it passes through here in
 * order. Keeps a message count and the recent ids that make a redelivered
 * envelope a no-op.
 */
export interface ChatState {
  n: number;
  recent: string[];
}

export const chatBehaviour: Behaviour<ChatState> = {
  kind: 'chat',
  initial: () => ({ n: 0, recent: [] }),
  receive(state, input, ctx) {
    const env = input.env;
    if (state.recent.includes(env.id)) return { state, effects: [], outcome: 'duplicate' };
    const seen: ChatState = { n: state.n, recent: remember(state.recent, env.id) };
    const blocked = gate(seen, input, ctx);
    if (blocked) return blocked;
    return { state: { n: state.n + 1, recent: seen.recent }, effects: [forward(env)], outcome: 'accepted' };
  },
};
