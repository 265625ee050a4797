import type { Activity } from 'botbuilder';
import type { IngestAck } from '../../core/connector.ts';
import type { Envelope } from '../../core/envelope.ts';
import type { HttpHandler } from '../../core/http.ts';

/**
 * The seam inside the Teams connector between the transport (Bot Framework
 * auth, /api/messages, proactive sends with rate limits and retries:
 * `transport/`) and the experience (commands, cards, Teams HTML, activity <->
 * envelope translation, the directory of users and contacts: `experience/`).
 * The transport knows nothing of commands; the experience never does HTTP to
 * the Bot Connector itself.
 */

/** The Teams user who sent an activity, as TeamsInfo.getMember reports them. */
export interface TeamsMember {
  /** Bot Framework channel account id (`29:...`). */
  id: string;
  aadObjectId?: string;
  name?: string;
  email?: string;
  userPrincipalName?: string;
  tenantId?: string;
}

/** One authenticated inbound activity, handed by the transport to the experience. */
export interface InboundTurn {
  readonly activity: Readonly<Activity>;
  /** TeamsInfo.getMember for the sender (a Bot Connector call); undefined when it fails. */
  member(): Promise<TeamsMember | undefined>;
}

/** What the experience makes of a turn. */
export interface TurnPlan {
  /** Envelopes to ingest, in order; the transport answers HTTP only once they are durable. */
  envelopes: readonly unknown[];
  /** Replies into the turn's conversation, made once the acks are known (e.g. "blocked"). */
  replies(acks: readonly IngestAck[]): readonly Partial<Activity>[];
  /**
   * Key under which the transport stores this turn's conversation reference
   * (`user:<local id>` for a personal chat, `chat:<conversation id>` for a
   * group chat or channel); undefined: do not store.
   */
  conversationKey?: string;
  /** Answer body of an invoke activity (adaptive card Action.Execute etc.). */
  invokeResponse?: { status: number; body?: unknown };
}

/** Where and what to send for one envelope delivered to the Teams side. */
export interface OutboundPlan {
  /**
   * Key of the stored conversation reference to send into: the Teams user's
   * personal chat (`user:<local id>`) or a bridged group chat / channel
   * (`chat:<chatId>`).
   */
  conversation: string;
  /** The activity to post; for an edit or delete, `replaces` names the earlier send. */
  activity: Partial<Activity>;
  /** Updates (PUT) or deletes an activity the bot sent earlier instead of posting a new one. */
  replaces?: { activityId: string; op: 'update' | 'delete' };
}

export interface TeamsExperience {
  /** Translates an inbound activity; never throws for bad input (a reply explains instead). */
  handle(turn: InboundTurn): Promise<TurnPlan>;
  /** What an envelope for a Teams user looks like in Teams; undefined: nothing to show (e.g. a receipt). */
  render(env: Envelope): Promise<OutboundPlan | undefined>;
  /**
   * Called by the transport after a post succeeded: the experience keeps the
   * maps it needs (envelope id -> activity id for later edits and deletes,
   * activity id -> peer for reply-by-quote).
   */
  recordSent(env: Envelope, plan: OutboundPlan, activityId: string): Promise<void>;
  /**
   * Envelopes Parley sends on the Teams user's behalf in answer to `env`
   * (the profile-response to an external profile-request; accepting a
   * contact request from someone already asked or accepted). Reads state only,
   * so it may run before or after `render`; the transport ingests the result
   * before it acknowledges the delivery of `env` (a failure retries the delivery).
   */
  followUps?(env: Envelope): Promise<readonly unknown[]>;
  /** HTTP routes the experience serves (e.g. signed file links), mounted by the connector. */
  routes(): readonly { method: 'GET'; path: string; handler: HttpHandler }[];
}
