import type { Activity } from 'botbuilder';
import type { Logger } from 'pino';
import type { TeamsConfig } from '../../../config/teams-schema.ts';
import type { HubPort, IngestAck } from '../../../core/connector.ts';
import { json, type HttpRequest, type HttpResponse } from '../../../core/http.ts';
import type { InboundTurn, TeamsExperience, TeamsMember, TurnPlan } from '../contract.ts';
import type { ServiceUrlAllowlist } from './allowlist.ts';
import type { BotAuth } from './auth.ts';
import type { BotConnectorClient } from './bot-connector-client.ts';
import type { Pacer } from './pacing.ts';
import type { TeamsTransportStore } from './store.ts';
import { addressed, memberLookupConversation, referenceFor, tenantOf } from './turn.ts';
import type { TransportCounters } from './counters.ts';

export interface IngressDeps {
  cfg: TeamsConfig;
  auth: BotAuth;
  hub: HubPort;
  experience: TeamsExperience;
  store: TeamsTransportStore;
  client: BotConnectorClient;
  allowlist: ServiceUrlAllowlist;
  pacer: Pacer;
  counts: TransportCounters;
  log: Logger;
}

/** How long a claim on an activity lasts while it is processed (a crash frees it for the redelivery). */
const PROCESSING_TTL_MS = 60_000;
const JWT_ERRORS = new Set(['JsonWebTokenError', 'TokenExpiredError', 'NotBeforeError']);

type Answer = { status: number; body?: unknown; retryAfterS?: number };

class TurnRefused extends Error {
  constructor(readonly answer: Answer) {
    super(typeof answer.body === 'string' ? answer.body : `refused with ${answer.status}`);
  }
}

function errorAnswer(status: number, code: string, message: string, retryAfterS?: number): Answer {
  return retryAfterS === undefined ? { status, body: { error: { code, message } } } : { status, body: { error: { code, message } }, retryAfterS };
}

function toResponse(a: Answer): HttpResponse {
  const headers: Record<string, string> = a.retryAfterS !== undefined ? { 'retry-after': String(a.retryAfterS) } : {};
  if (a.body === undefined) return { status: a.status, headers };
  return json(a.status, a.body, headers);
}

function isUnauthorized(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (JWT_ERRORS.has(err.name)) return true;
  // botframework-connector's AuthenticationError carries the status it means.
  return (err as { statusCode?: unknown }).statusCode === 401;
}

/**
 * POST /api/messages: the body (size-limited by the server) is parsed, the
 * token checked by botbuilder's CloudAdapter, and inside its turn: the
 * experience's plan, its envelopes ingested (durable), the conversation
 * reference stored, the replies sent. The answer goes out once that is done,
 * or 503 after `answerWithinMs` so Teams redelivers (the redelivery is then
 * recognised by activity id and answered once processing has finished).
 */
export class TeamsIngress {
  constructor(private readonly d: IngressDeps) {}

  async handle(req: HttpRequest): Promise<HttpResponse> {
    this.d.counts.activitiesIn++;
    let activity: Partial<Activity>;
    try {
      const parsed: unknown = JSON.parse(req.body.toString('utf8'));
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('expected a JSON object (an Activity)');
      activity = parsed as Partial<Activity>;
      if (typeof activity.type !== 'string') throw new Error('the activity has no type');
    } catch (err) {
      this.d.counts.badRequests++;
      return toResponse(errorAnswer(400, 'BAD_REQUEST', `body is not a Bot Framework activity: ${(err as Error).message}`));
    }
    const authHeader = req.headers.authorization ?? '';
    let answer: Answer | undefined;
    const work = this.d.auth.adapter
      .run(authHeader, activity as Activity, async (ctx) => {
        answer = await this.turn(ctx.activity);
      })
      .then(() => answer ?? { status: 200 })
      .catch((err: unknown) => this.failure(err));
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<Answer>((resolve) => {
      timer = setTimeout(() => {
        this.d.counts.answeredLate++;
        resolve(errorAnswer(503, 'OVERLOADED', 'still processing this activity; send it again', 1));
      }, this.d.cfg.answerWithinMs);
    });
    const result = await Promise.race([work, late]);
    clearTimeout(timer);
    return toResponse(result);
  }

  private failure(err: unknown): Answer {
    if (err instanceof TurnRefused) return err.answer;
    if (isUnauthorized(err)) {
      this.d.counts.unauthorized++;
      this.d.log.debug({ err }, 'activity refused: not authenticated');
      return errorAnswer(401, 'UNAUTHORIZED', err instanceof Error ? err.message : 'Unauthorized');
    }
    this.d.counts.failures++;
    this.d.log.error({ err }, 'activity processing failed; the channel will redeliver');
    return errorAnswer(503, 'DELIVERY_UNAVAILABLE', 'processing failed; send it again', 1);
  }

  private async turn(activity: Activity): Promise<Answer> {
    const verdict = this.d.allowlist.check(activity.serviceUrl);
    if (!verdict.ok) {
      this.d.counts.refusedServiceUrls++;
      this.d.log.warn({ serviceUrl: activity.serviceUrl, reason: verdict.reason }, 'activity refused: serviceUrl not allowed');
      return errorAnswer(403, 'FORBIDDEN', verdict.reason);
    }
    const conversationId = activity.conversation?.id;
    const activityId = redeliveryKey(activity);
    const dedupe = activityId && conversationId ? { conversationId, activityId } : undefined;
    if (dedupe) {
      const prior = await this.d.store.claim(dedupe.conversationId, dedupe.activityId, PROCESSING_TTL_MS);
      if (prior) {
        this.d.counts.redeliveries++;
        if (prior.state === 'done') return prior.invokeResponse ? { status: prior.invokeResponse.status, body: prior.invokeResponse.body } : { status: 200 };
        return errorAnswer(503, 'OVERLOADED', 'this activity is still being processed', 1);
      }
    }
    try {
      const plan = await this.d.experience.handle(this.inbound(activity));
      const acks = plan.envelopes.length > 0 ? await this.d.hub.ingestMany(plan.envelopes) : [];
      this.d.counts.envelopesIn += plan.envelopes.length;
      const retry = acks.find((a) => a.outcome === 'rejected' && a.error?.retryable);
      if (retry) throw new TurnRefused(errorAnswer(503, retry.error?.code ?? 'OVERLOADED', retry.error?.message ?? 'try again', 1));
      await this.sendReplies(activity, plan, acks);
      await this.d.store.finish(
        plan.conversationKey ? { key: plan.conversationKey, value: { ref: referenceFor(activity), tenantId: tenantOf(activity) } } : undefined,
        dedupe ? { ...dedupe, ttlSeconds: this.d.cfg.dedupeTtlSeconds, ...(plan.invokeResponse ? { invokeResponse: plan.invokeResponse } : {}) } : undefined,
      );
      return plan.invokeResponse ? { status: plan.invokeResponse.status, body: plan.invokeResponse.body } : { status: 200 };
    } catch (err) {
      if (dedupe) await this.d.store.release(dedupe.conversationId, dedupe.activityId).catch(() => undefined);
      throw err;
    }
  }

  private inbound(activity: Activity): InboundTurn {
    let member: Promise<TeamsMember | undefined> | undefined;
    const lookup = async (): Promise<TeamsMember | undefined> => {
      const conv = memberLookupConversation(activity);
      if (!conv || !activity.from?.id || !activity.serviceUrl) return undefined;
      try {
        return await this.d.client.member(activity.serviceUrl, conv, activity.from.id);
      } catch (err) {
        this.d.log.debug({ err }, 'member lookup failed');
        return undefined;
      }
    };
    return { activity, member: () => (member ??= lookup()) };
  }

  /** Replies are best effort once the envelopes are durable: a failure is logged, the turn still succeeds. */
  private async sendReplies(activity: Activity, plan: TurnPlan, acks: readonly IngestAck[]): Promise<void> {
    const replies = plan.replies(acks);
    if (replies.length === 0) return;
    const ref = { ...referenceFor(activity), ...(activity.id ? { activityId: activity.id } : {}) };
    const conv = activity.conversation?.id ?? '';
    const tenant = tenantOf(activity);
    for (const reply of replies) {
      try {
        const wait = this.d.pacer.reserve(conv, tenant);
        if (wait === undefined) throw new Error('conversation is rate limited');
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        const out = addressed(reply, ref);
        if (activity.id) await this.d.client.reply(activity.serviceUrl, conv, activity.id, out);
        else await this.d.client.send(activity.serviceUrl, conv, out);
        this.d.counts.repliesSent++;
      } catch (err) {
        this.d.counts.replyFailures++;
        this.d.log.warn({ err, conversation: conv }, 'reply to a Teams activity failed');
      }
    }
  }
}

/**
 * What makes an activity the same one again. Teams gives an edit or a delete
 * the id of the message it changes (and every edit of it the same id), so
 * only a message is known by its id alone; the others add their type and
 * timestamp, which a redelivery repeats unchanged.
 */
export function redeliveryKey(activity: Activity): string | undefined {
  if (!activity.id) return undefined;
  if (activity.type === 'message') return activity.id;
  const ts = activity.timestamp === undefined ? '' : String(activity.timestamp instanceof Date ? activity.timestamp.toISOString() : activity.timestamp);
  return `${activity.type}|${activity.id}|${ts}`.slice(0, 512);
}
