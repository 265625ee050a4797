import type { Envelope } from '../src/core/envelope.ts';
import { metadataFor } from '../src/core/metadata.ts';
import { chatIdFor } from '../src/core/routing.ts';
import type { ActorContext, ActorInput, Effect, StepResult } from './types.ts';

/** How many recent envelope ids an actor remembers to drop redeliveries. */
export const RECENT_IDS = 16;

export function remember(recent: readonly string[], id: string): string[] {
  const next = recent.length >= RECENT_IDS ? recent.slice(recent.length - RECENT_IDS + 1) : recent.slice();
  next.push(id);
  return next;
}

/** The error envelope a sender receives when its message cannot go through. */
export function errorFor(failed: Envelope, code: Extract<Envelope, { type: 'error' }>['code'], message: string, ctx: ActorContext): Envelope {
  return {
    type: 'error',
    id: ctx.newId(),
    ts: ctx.now,
    from: failed.to,
    to: failed.from,
    chatId: failed.chatId,
    target: failed.id,
    code,
    message,
    retryable: false,
  };
}

/**
 * The policy gate every behaviour runs first. Returns a finished step for a
 * blocked message (metadata row + error back to its sender), or undefined.
 */
export function gate<S>(state: S, input: ActorInput, ctx: ActorContext): StepResult<S> | undefined {
  if (input.origin === 'system') return undefined;
  const decision = ctx.policy.decide(input.env);
  if (decision.allowed) return undefined;
  const env = input.env;
  const meta = { localDomains: ctx.policy.localDomains, defaultTenant: ctx.defaultTenant };
  const effects: Effect[] = [{ kind: 'metadata', event: metadataFor(env, chatIdFor(env), 'blocked', decision.code, meta, ctx.now) }];
  // An error goes back only to a sender Parley serves: never between two outside parties.
  if (env.type !== 'error' && (ctx.policy.isLocal(env.from) || ctx.policy.isLocal(env.to))) {
    const err = errorFor(env, decision.code, decision.reason, ctx);
    effects.push({ kind: 'deliver', env: err, chatId: chatIdFor(err) });
  }
  return {
    state,
    effects,
    outcome: 'blocked',
    error: { code: decision.code, message: decision.reason, retryable: false },
  };
}

export function forward(env: Envelope): Effect {
  return { kind: 'deliver', env, chatId: chatIdFor(env) };
}
