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
    // A blocked message leaves no state behind: blocked traffic cannot fill Redis with snapshots.
    const blocked = gate(state, input, ctx);
    if (blocked) return blocked;
    return { state: { n: state.n + 1, recent: remember(state.recent, env.id) }, effects: [forward(env)], outcome: 'accepted' };
  },
};
