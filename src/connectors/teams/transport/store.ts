import { createHash } from 'node:crypto';
import type { ConversationReference } from 'botbuilder';
import type { Redis } from 'ioredis';

/** A stored conversation reference and the tenant it belongs to (for pacing). */
export interface StoredReference {
  ref: Partial<ConversationReference>;
  tenantId: string;
}

/** What an earlier delivery of the same activity answered. */
export interface SeenActivity {
  state: 'processing' | 'done';
  invokeResponse?: { status: number; body?: unknown };
}

const WRITTEN_MAX = 50_000;
/** Even an unchanged reference is written again after this (another node, or a Redis restore, may differ). */
const REWRITE_AFTER_MS = 10 * 60_000;

const hash = (s: string): string => createHash('sha256').update(s).digest('base64url').slice(0, 32);

/**
 * The transport's Redis state: conversation references (for proactive
 * sends), activities already processed (redelivery), and sends already made
 * (item key -> activity id: a retry never posts twice).
 */
export class TeamsTransportStore {
  private readonly refs: string;
  private readonly seenPrefix: string;
  private readonly sentPrefix: string;
  /** References this process wrote recently: an unchanged one is not written again. */
  private readonly written = new Map<string, { json: string; at: number }>();

  constructor(
    private readonly redis: Redis,
    prefix: string,
  ) {
    this.refs = `${prefix}:teams:refs`;
    this.seenPrefix = `${prefix}:teams:seen:`;
    this.sentPrefix = `${prefix}:teams:sent:`;
  }

  async reference(key: string): Promise<StoredReference | undefined> {
    const raw = await this.redis.hget(this.refs, key);
    return raw ? (JSON.parse(raw) as StoredReference) : undefined;
  }

  private seenKey(conversationId: string, activityId: string): string {
    return this.seenPrefix + hash(`${conversationId}\n${activityId}`);
  }

  /** Claims an activity for processing; returns the earlier claim when there is one. */
  async claim(conversationId: string, activityId: string, processingTtlMs: number): Promise<SeenActivity | undefined> {
    const key = this.seenKey(conversationId, activityId);
    const ok = await this.redis.set(key, JSON.stringify({ state: 'processing' }), 'PX', processingTtlMs, 'NX');
    if (ok === 'OK') return undefined;
    const raw = await this.redis.get(key);
    // Expired between the two calls: claim again.
    if (raw === null) return this.claim(conversationId, activityId, processingTtlMs);
    return JSON.parse(raw) as SeenActivity;
  }

  /** The end of a turn in one round trip: its conversation reference stored and the activity marked done. */
  async finish(
    reference: { key: string; value: StoredReference } | undefined,
    done: { conversationId: string; activityId: string; ttlSeconds: number; invokeResponse?: SeenActivity['invokeResponse'] } | undefined,
  ): Promise<void> {
    const now = Date.now();
    let refJson: string | undefined;
    if (reference) {
      refJson = JSON.stringify(reference.value);
      const prior = this.written.get(reference.key);
      if (prior && prior.json === refJson && now - prior.at < REWRITE_AFTER_MS) refJson = undefined;
    }
    if (refJson === undefined && !done) return;
    const p = this.redis.pipeline();
    if (reference && refJson !== undefined) p.hset(this.refs, reference.key, refJson);
    if (done) {
      const value: SeenActivity = done.invokeResponse ? { state: 'done', invokeResponse: done.invokeResponse } : { state: 'done' };
      p.set(this.seenKey(done.conversationId, done.activityId), JSON.stringify(value), 'EX', done.ttlSeconds);
    }
    const results = await p.exec();
    const failed = results?.find(([err]) => err);
    if (failed?.[0]) throw failed[0];
    if (reference && refJson !== undefined) {
      if (this.written.size >= WRITTEN_MAX) this.written.clear();
      this.written.set(reference.key, { json: refJson, at: now });
    }
  }

  /** Processing failed: a redelivery processes it again. */
  async release(conversationId: string, activityId: string): Promise<void> {
    await this.redis.del(this.seenKey(conversationId, activityId));
  }

  async sentActivity(itemKey: string): Promise<string | undefined> {
    return (await this.redis.get(this.sentPrefix + hash(itemKey))) ?? undefined;
  }

  async recordSent(itemKey: string, activityId: string, ttlSeconds: number): Promise<void> {
    await this.redis.set(this.sentPrefix + hash(itemKey), activityId, 'EX', ttlSeconds);
  }
}
