import { chatBehaviour } from './chat.ts';
import type { Behaviour } from './types.ts';
import { userSessionBehaviour } from './user-session.ts';

export type { ActorContext, ActorInput, Behaviour, Effect, Origin, StepResult } from './types.ts';
export { chatBehaviour } from './chat.ts';
export { userSessionBehaviour } from './user-session.ts';

/** The behaviour for an actor key (`chat:…` or `user:…`). */
export function behaviourFor(key: string): Behaviour<unknown> {
  const b = key.startsWith('user:') ? userSessionBehaviour : chatBehaviour;
  return b as Behaviour<unknown>;
}
