import type { Logger } from 'pino';
import type { TeamsConfig } from '../../../config/teams-schema.ts';
import type { DeliveryItem, DeliveryResult } from '../../../core/connector.ts';
import type { OutboundPlan, TeamsExperience } from '../contract.ts';
import type { ServiceUrlAllowlist } from './allowlist.ts';
import type { BotConnectorClient } from './bot-connector-client.ts';
import type { TransportCounters } from './counters.ts';
import { classifyConnectorError } from './errors.ts';
import type { Pacer } from './pacing.ts';
import type { TeamsTransportStore } from './store.ts';
import { addressed } from './turn.ts';

export interface OutboundDeps {
  cfg: TeamsConfig;
  experience: TeamsExperience;
  store: TeamsTransportStore;
  client: BotConnectorClient;
  allowlist: ServiceUrlAllowlist;
  pacer: Pacer;
  counts: TransportCounters;
  log: Logger;
}

const fail = (code: 'RECIPIENT_UNKNOWN' | 'DELIVERY_REJECTED' | 'DELIVERY_UNAVAILABLE' | 'RATE_LIMITED', message: string, retryable: boolean, retryAfterMs?: number): DeliveryResult => ({
  ok: false,
  error: retryAfterMs === undefined ? { code, message, retryable } : { code, message, retryable, retryAfterMs },
});

/**
 * Proactive sends into stored conversations. Failures are returned to the
 * delivery queue, which retries (honouring `retryAfterMs`) rather than this
 * retrying in place: the chat's order holds and a restart loses nothing.
 * Each item's successful send is recorded in Redis (item key -> activity id)
 * before the result is returned, so a retry of an item never posts it twice.
 * The one gap Bot Framework leaves: a post whose answer is lost (timeout)
 * may have been shown; its retry posts again.
 */
export class TeamsOutbound {
  constructor(private readonly d: OutboundDeps) {}

  async deliver(items: readonly DeliveryItem[]): Promise<DeliveryResult[]> {
    const results: DeliveryResult[] = [];
    for (const item of items) {
      const r = await this.one(item);
      results.push(r);
      if (!r.ok) {
        this.d.counts.sendFailures++;
        break;
      }
    }
    return results;
  }

  private async one(item: DeliveryItem): Promise<DeliveryResult> {
    const { env } = item;
    let plan: OutboundPlan | undefined;
    try {
      plan = await this.d.experience.render(env);
    } catch (err) {
      this.d.log.error({ err, id: env.id }, 'Teams experience could not render an envelope');
      return fail('DELIVERY_UNAVAILABLE', `could not render for Teams: ${(err as Error).message}`, true);
    }
    if (!plan) return { ok: true };
    const already = await this.d.store.sentActivity(item.key);
    if (already !== undefined) {
      this.d.counts.resendsSkipped++;
      await this.recordSent(env, plan, already);
      return { ok: true };
    }
    const stored = await this.d.store.reference(plan.conversation);
    if (!stored) {
      this.d.counts.unknownConversations++;
      return fail('RECIPIENT_UNKNOWN', `no Teams conversation known for ${plan.conversation}: the Teams user has to talk to the bot once first`, false);
    }
    const serviceUrl = stored.ref.serviceUrl ?? '';
    const verdict = this.d.allowlist.check(serviceUrl);
    if (!verdict.ok) return fail('DELIVERY_REJECTED', `not sending to Teams: ${verdict.reason}`, false);
    const conversationId = stored.ref.conversation?.id ?? '';
    const wait = this.d.pacer.reserve(conversationId, stored.tenantId);
    if (wait === undefined) {
      this.d.counts.rateLimited++;
      return fail('RATE_LIMITED', 'Teams conversation is at its send rate', true, this.d.pacer.waitHint(conversationId, stored.tenantId));
    }
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    let activityId: string;
    try {
      const activity = addressed(plan.activity, stored.ref);
      if (plan.replaces?.op === 'delete') {
        await this.d.client.delete(serviceUrl, conversationId, plan.replaces.activityId);
        activityId = plan.replaces.activityId;
      } else if (plan.replaces?.op === 'update') {
        activityId = await this.d.client.update(serviceUrl, conversationId, plan.replaces.activityId, activity);
      } else {
        activityId = await this.d.client.send(serviceUrl, conversationId, activity);
      }
    } catch (err) {
      const error = classifyConnectorError(err);
      if (error.code === 'RATE_LIMITED') {
        this.d.counts.rateLimited++;
        this.d.pacer.holdOff(conversationId, error.retryAfterMs ?? 1000);
      }
      this.d.log.debug({ err, id: env.id, code: error.code }, 'Teams send failed');
      return { ok: false, error };
    }
    await this.d.store.recordSent(item.key, activityId, this.d.cfg.sentTtlSeconds);
    this.d.counts.sent++;
    await this.recordSent(env, plan, activityId);
    return { ok: true };
  }

  /** The send happened: a failure to remember its maps is logged, not retried (a retry would only skip). */
  private async recordSent(env: DeliveryItem['env'], plan: OutboundPlan, activityId: string): Promise<void> {
    try {
      await this.d.experience.recordSent(env, plan, activityId);
    } catch (err) {
      this.d.log.error({ err, id: env.id }, 'Teams experience could not record a send');
    }
  }
}
