import { Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Connector, DeliveryResult } from '../core/connector.ts';
import { errorInfo, type ErrorInfo } from '../core/errors.ts';
import { backoffDelay, sleep } from './backoff.ts';
import type { ContentCipher } from './crypto.ts';
import type { DeliveryMarks } from './idempotency.ts';
import { openItems, queueName, type JobPayload, type OutboundItem } from './items.ts';
import { KeyedSerializer } from './serial.ts';

export interface DispatchPolicy {
  attempts: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  timeoutMs: number;
  concurrency: number;
  stalledIntervalMs: number;
}

/** What the dispatcher reports; the hub turns these into metadata, metrics and error envelopes. */
export interface DispatchEvents {
  delivered(connector: string, items: readonly OutboundItem[]): void;
  retrying(connector: string, item: OutboundItem, attempt: number, error: ErrorInfo, delayMs: number): void;
  /** Final failure: resolves once the sender has been told (durably). */
  failed(connector: string, item: OutboundItem, error: ErrorInfo): Promise<void>;
}

const TIMEOUT: ErrorInfo = { code: 'DELIVERY_TIMEOUT', message: 'Delivery timed out', retryable: true };
const SHORT: ErrorInfo = { code: 'DELIVERY_UNAVAILABLE', message: 'connector returned no result', retryable: true };

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T | typeof TIMEOUT> {
  let t: NodeJS.Timeout | undefined;
  const timer = new Promise<typeof TIMEOUT>((resolve) => {
    t = setTimeout(() => resolve(TIMEOUT), ms);
  });
  return Promise.race([p, timer]).finally(() => clearTimeout(t));
}

/**
 * The consumer side: one BullMQ worker per connector. Jobs run concurrently,
 * but each chat's items go through a per-chat serializer, so a chat keeps its
 * order even while one of its messages waits out a retry.
 */
export class Dispatcher {
  private worker: Worker<JobPayload> | undefined;
  private readonly chats = new KeyedSerializer();
  private readonly abort = new AbortController();
  readonly queue: string;

  constructor(
    private readonly connector: Connector,
    private readonly connection: Redis,
    private readonly prefix: string,
    private readonly cipher: ContentCipher,
    private readonly marks: DeliveryMarks,
    private readonly policy: DispatchPolicy,
    private readonly events: DispatchEvents,
    private readonly log: Logger,
  ) {
    this.queue = queueName(connector.name);
  }

  start(): void {
    this.worker = new Worker<JobPayload>(this.queue, (job) => this.process(job), {
      connection: this.connection,
      prefix: this.prefix,
      concurrency: this.policy.concurrency,
      stalledInterval: this.policy.stalledIntervalMs,
      maxStalledCount: 1000,
      lockDuration: Math.max(10_000, this.policy.stalledIntervalMs * 2),
    });
    this.worker.on('error', (err) => {
      // While Redis is down every reconnect attempt reports here; readiness already says so.
      const connection = /ECONNREFUSED|ECONNRESET|Connection is closed/.test(err.message);
      this.log[connection ? 'debug' : 'warn']({ err, queue: this.queue }, 'delivery worker error');
    });
    this.worker.on('failed', (job, err) => this.log.error({ err, job: job?.id, queue: this.queue }, 'delivery job failed: kept as dead letter'));
  }

  /** Stops taking jobs; jobs still retrying are left to be picked up again after restart. */
  async close(graceMs: number): Promise<void> {
    const w = this.worker;
    if (!w) return;
    const grace = new AbortController();
    const closing = w.close();
    const done = await Promise.race([closing.then(() => true), sleep(graceMs, grace.signal).then(() => false)]);
    grace.abort();
    if (!done) {
      this.abort.abort();
      await w.close(true);
    }
  }

  private async process(job: Job<JobPayload>): Promise<void> {
    const items = openItems(job.data, this.cipher, this.queue);
    const byChat = new Map<string, OutboundItem[]>();
    for (const item of items) {
      const list = byChat.get(item.chat);
      if (list) list.push(item);
      else byChat.set(item.chat, [item]);
    }
    const runs: Array<Promise<void>> = [];
    for (const [chat, list] of byChat) runs.push(this.chats.run(chat, () => this.deliverChat(list)));
    await Promise.all(runs);
  }

  private async deliverChat(list: OutboundItem[]): Promise<void> {
    const done = await this.marks.delivered(list.map((i) => i.key));
    let pending = list.filter((_, i) => !done[i]);
    let attempt = 0;
    while (pending.length > 0) {
      if (this.abort.signal.aborted) throw new Error('dispatcher closing');
      let results: DeliveryResult[] | typeof TIMEOUT;
      try {
        const batch = pending.map((i) => ({ key: i.key, env: i.env, attempt }));
        results = await withTimeout(this.connector.deliver(batch), this.policy.timeoutMs);
      } catch (err) {
        results = [{ ok: false, error: errorInfo(err) }];
      }
      const list: DeliveryResult[] = Array.isArray(results) ? results : [{ ok: false, error: TIMEOUT }];
      let ok = 0;
      while (ok < list.length && ok < pending.length && list[ok]?.ok) ok++;
      if (ok > 0) {
        const sent = pending.slice(0, ok);
        await this.marks.mark(sent.map((i) => i.key));
        this.events.delivered(this.connector.name, sent);
        pending = pending.slice(ok);
        attempt = 0;
      }
      if (pending.length === 0) break;
      const failure = list[ok];
      const error = failure && !failure.ok ? failure.error : SHORT;
      const head = pending[0] as OutboundItem;
      attempt++;
      if (!error.retryable || attempt >= this.policy.attempts) {
        await this.events.failed(this.connector.name, head, error);
        await this.marks.mark([head.key]);
        pending = pending.slice(1);
        attempt = 0;
        continue;
      }
      const delay = backoffDelay(attempt, this.policy.backoffBaseMs, this.policy.backoffMaxMs, error.retryAfterMs);
      this.events.retrying(this.connector.name, head, attempt, error, delay);
      await sleep(delay, this.abort.signal);
    }
  }
}
