import type { Logger } from 'pino';
import type { Platform } from './address.ts';
import type { Envelope } from './envelope.ts';
import type { ErrorInfo } from './errors.ts';
import type { RouteSpec } from './http.ts';

/** One message for a connector to deliver. `key` is stable across redeliveries. */
export interface DeliveryItem {
  key: string;
  env: Envelope;
  attempt: number;
}

export type DeliveryResult = { readonly ok: true } | { readonly ok: false; readonly error: ErrorInfo };

export type ConnectorState = 'starting' | 'up' | 'reconnecting' | 'down' | 'stopped';

export interface ConnectorStatus {
  state: ConnectorState;
  since: number;
  detail?: string;
}

export type IngestOutcome = 'accepted' | 'duplicate' | 'blocked' | 'rejected';

/** What Parley answers once a message is durably enqueued (or refused). */
export interface IngestAck {
  id: string;
  outcome: IngestOutcome;
  error?: ErrorInfo;
}

/** What the hub offers a connector. Connectors know nothing else of the runtime. */
export interface HubPort {
  /**
   * Validates, routes and resolves once the message's effects are durable.
   * The hub may keep `input` itself (not a copy) until it has delivered it:
   * pass plain data and do not change it afterwards.
   */
  ingest(input: unknown): Promise<IngestAck>;
  ingestMany(inputs: readonly unknown[]): Promise<IngestAck[]>;
  route(spec: RouteSpec): void;
  readonly log: Logger;
}

export interface Connector {
  /** Unique name; also names its delivery queue. */
  readonly name: string;
  readonly platforms: readonly Platform[];
  start(hub: HubPort): Promise<void>;
  stop(): Promise<void>;
  status(): ConnectorStatus;
  /** Monotonic event counts for /metrics (stanzas in, refusals, reconnects, ...). */
  counters?(): Readonly<Record<string, number>>;
  /**
   * Delivers items in order and stops at the first failure: the result array
   * covers the attempted prefix, every entry ok but possibly the last. With
   * `seq` (see `sequence`) the call may start before earlier calls of the
   * same sequence have finished.
   */
  deliver(items: readonly DeliveryItem[], seq?: DeliverySequence): Promise<DeliveryResult[]>;
  /**
   * Optional: lets one chat's deliveries overlap. Calls made with the same
   * sequence go on the wire in the order they were made, and once one of
   * them fails (or its caller marks the sequence broken, say on a timeout)
   * every later one fails too, retryable, even one whose own write went
   * through: a chat's order then survives a lost connection. Without it a
   * chat's deliveries run one at a time.
   */
  sequence?(): DeliverySequence;
}

/** A chat's run of overlapping deliveries; the rest of what it holds is the connector's. */
export interface DeliverySequence {
  broken: boolean;
}
