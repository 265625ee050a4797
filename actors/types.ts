import type { IngestOutcome } from '../src/core/connector.ts';
import type { Envelope } from '../src/core/envelope.ts';
import type { ErrorInfo } from '../src/core/errors.ts';
import type { MetadataEvent } from '../src/core/metadata.ts';
import type { CompiledPolicy } from '../src/core/policy.ts';

/** Where a message came from: a connector (untrusted) or Parley itself (errors it generates). */
export type Origin = 'ingress' | 'system';

export interface ActorInput {
  env: Envelope;
  origin: Origin;
}

export type Effect =
  | { kind: 'deliver'; env: Envelope; chatId: string }
  | { kind: 'metadata'; event: MetadataEvent };

export interface StepResult<S> {
  state: S;
  effects: Effect[];
  outcome: IngestOutcome;
  error?: ErrorInfo;
}

export interface ActorContext {
  policy: CompiledPolicy;
  defaultTenant: string;
  now: number;
  /** Fresh unique id for envelopes the actor creates. */
  newId(): string;
}

/** A pure actor behaviour: (state, message) -> (state, effects). No I/O, no clocks but ctx.now. */
export interface Behaviour<S> {
  readonly kind: string;
  initial(key: string): S;
  receive(state: S, input: ActorInput, ctx: ActorContext): StepResult<S>;
}
