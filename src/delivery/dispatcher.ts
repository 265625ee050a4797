import { DelayedError, Job, Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Connector, DeliveryResult, DeliverySequence } from '../core/connector.ts';
import { isEphemeral, isStale } from '../core/envelope.ts';
import { errorInfo, type ErrorInfo } from '../core/errors.ts';
import { backoffDelay, sleep } from './backoff.ts';
import type { ContentCipher } from './crypto.ts';
import type { DelayedJobRef, DeliveryMarks } from './idempotency.ts';
import { openItems, queueName, type JobPayload, type OutboundItem } from './items.ts';
import { RecentKeys } from '../core/recent-keys.ts';
import { KeyedSerializer } from './serial.ts';
import { byChat, EXPIRED, RequeueError, sameRecipient, SHORT, TIMEOUT, withTimeout, type DispatchEvents, type DispatchPolicy } from './dispatch-contract.ts';

export { RequeueError, type DispatchEvents, type DispatchPolicy };

/** How often a delivery waiting for a disconnected connector looks again. */
const OFFLINE_RECHECK_MS = 1_000;

/** At most this many items go to a connector in one merged fast-path call. */
const MERGE_MAX_ITEMS = 1_000;
/** With a connector that takes sequences, at most this many of a chat's fast-path calls overlap. */
const OVERLAP_MAX_CALLS = 4;

/** How long after the queue consumer delivered in a chat the fast path checks marks itself again. */
const QUEUE_QUIET_MS = 60_000;
/**
 * Marks read at commit are trusted this long. Older work (a chat that waited
 * behind a slow connector) asks Redis: once the queue's hold-back
 * (fastPathDelayMs, 5 s by default) is near, another process may have taken
 * the job and marked its items.
 */
const FAST_MARKS_FRESH_MS = 2_000;

/** Item keys delivered lately, remembered in memory (see `fastMarked`). */
const RECENT_KEYS = 20_000;

interface FastJob {
  jobId: string;
  /** Chats of the job not yet done on the fast path. */
  remaining: number;
  handedBack: boolean;
  /** Removal asked for along with the marks of its last chat. */
  dropped: boolean;
}

/**
 * The consumer side: one BullMQ worker per connector. Jobs run concurrently,
 * but each chat's items go through a per-chat serializer, so a chat keeps its
 * order even while one of its messages waits out a retry.
 *
 * The fast path: once a job is durable, its items are delivered at once from
 * memory (same serializer, same idempotency marks) and the job, which the
 * queue holds back for `fastPathDelayMs`, is removed. If a chat's delivery
 * fails, the job is promoted to the queue at once, and the chat's later jobs
 * follow it there until the consumer has done them, so order holds.
 */
export class Dispatcher {
  private worker: Worker<JobPayload> | undefined;
  private readonly chats = new KeyedSerializer();
  private readonly abort = new AbortController();
  readonly queue: string;
  private readonly jobs: Queue;
  /** Chats with jobs handed back to the queue, and how many. */
  private readonly slow = new Map<string, number>();
  /** `jobId|chat` pairs handed back to the queue. */
  private readonly deferred = new Set<string>();
  /** Item keys the fast path tried once, with the earliest time for the next try. */
  private readonly triedFast = new Map<string, number>();
  private readonly fastRuns = new Set<Promise<unknown>>();
  /** Chats whose fast path has deliveries in flight and nothing waiting: told when work arrives. */
  private readonly wakers = new Map<string, () => void>();
  /** Per chat, fast-path work waiting for the chat's turn (merged into one delivery). */
  private readonly fastWaiting = new Map<string, Array<{ job: FastJob; list: OutboundItem[]; marked: readonly string[]; at: number }>>();
  /** Chats the queue consumer delivered in, and when. */
  private readonly queueChats = new Map<string, number>();
  /** Keys this dispatcher delivered lately. */
  private readonly recentKeys = new RecentKeys(RECENT_KEYS);

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
    this.jobs = new Queue(this.queue, { connection, prefix });
  }

  /**
   * Delivers a job's items right away; see the class comment. `marked`: keys
   * of its items that were marked delivered when the job was stored. Never throws.
   */
  fast(jobId: string, items: readonly OutboundItem[], marked: readonly string[] = []): void {
    const groups = byChat(items);
    const job: FastJob = { jobId, remaining: groups.size, handedBack: false, dropped: false };
    const at = Date.now();
    for (const [chat, list] of groups) {
      const waiting = this.fastWaiting.get(chat);
      // A chat already waiting for its turn takes these items along: one delivery call for both.
      if (waiting) {
        waiting.push({ job, list, marked, at });
        continue;
      }
      this.fastWaiting.set(chat, [{ job, list, marked, at }]);
      const wake = this.wakers.get(chat);
      if (wake) {
        wake();
        continue;
      }
      const run = this.chats
        .run(chat, () => this.drainFast(chat))
        .catch((err: unknown) => this.log.debug({ err, chat }, 'fast path stopped; the queue will deliver the jobs'))
        .finally(() => this.fastRuns.delete(run));
      this.fastRuns.add(run);
    }
  }

  /**
   * Runs in the chat's turn: delivers what waits for it, at most
   * MERGE_MAX_ITEMS per call. With a connector that takes sequences, the
   * next call starts while earlier ones await their confirmation (up to
   * OVERLAP_MAX_CALLS); their outcomes are handled in call order.
   */
  private async drainFast(chat: string): Promise<void> {
    let seq = this.connector.sequence?.();
    const inflight: Array<Promise<void>> = [];
    let handled: Promise<void> = Promise.resolve();
    let failure: unknown;
    for (;;) {
      if (failure !== undefined) {
        await Promise.all(inflight);
        throw failure;
      }
      // A broken sequence is done with once its calls are: the next call starts a new one.
      if (seq?.broken && inflight.length === 0) seq = this.connector.sequence?.();
      const waiting = this.fastWaiting.get(chat);
      if (!waiting || waiting.length === 0) {
        this.fastWaiting.delete(chat);
        if (inflight.length === 0) return;
        await Promise.race([inflight[0], new Promise<void>((wake) => this.wakers.set(chat, wake))]);
        this.wakers.delete(chat);
        continue;
      }
      // Without overlap the next call takes whatever waits once the last one is done (one merged call).
      if (inflight.length >= (seq && !seq.broken ? OVERLAP_MAX_CALLS : 1)) {
        await inflight[0];
        continue;
      }
      let n = 0;
      let take = 0;
      while (take < waiting.length && (take === 0 || n + (waiting[take]?.list.length ?? 0) <= MERGE_MAX_ITEMS)) n += waiting[take++]?.list.length ?? 0;
      const entries = waiting.splice(0, take);
      const list = entries.flatMap((e) => e.list);
      const known = this.fastMarked(chat, entries);
      // Overlapping only when this call reaches the connector without waiting first (marks to read, stale items to report).
      const now = Date.now();
      const overlap = seq !== undefined && !seq.broken && known !== undefined && !list.some((i) => isStale(i.env, now));
      if (!overlap) await Promise.all(inflight);
      const delivering = (this.slow.get(chat) ?? 0) === 0 ? this.deliverChat(list, true, known, this.finishing(entries), overlap ? seq : undefined) : Promise.resolve(false);
      const outcome = Promise.all([delivering, handled]).then(([delivered]) => this.afterFast(chat, entries, delivered));
      handled = outcome.then(
        () => void inflight.shift(),
        (err: unknown) => {
          inflight.shift();
          if (seq) seq.broken = true;
          failure ??= err;
        },
      );
      inflight.push(handled);
    }
  }

  /** Jobs a delivery completes are removed in the same Redis call as its marks. */
  private finishing(entries: ReadonlyArray<{ job: FastJob }>): () => DelayedJobRef[] {
    return () =>
      entries
        .filter(({ job }) => job.remaining === 1 && !job.handedBack)
        .map(({ job }) => {
          job.dropped = true;
          return { queueKey: this.jobs.qualifiedName, jobId: job.jobId };
        });
  }

  /** After a fast-path delivery, in call order: jobs handed back to the queue, or done. */
  private async afterFast(chat: string, entries: ReadonlyArray<{ job: FastJob }>, delivered: boolean): Promise<void> {
    for (const { job } of entries) {
      if (!delivered) {
        // Handed back inside the chat's turn: its jobs reach the queue in order.
        job.handedBack = true;
        this.slow.set(chat, (this.slow.get(chat) ?? 0) + 1);
        this.deferred.add(`${job.jobId}|${chat}`);
        await this.promote(job.jobId);
      }
      if (--job.remaining === 0 && !job.handedBack && !job.dropped) {
        const removal = this.marks
          .dropDelayed({ queueKey: this.jobs.qualifiedName, jobId: job.jobId })
          .catch((err: unknown) => this.log.debug({ err, jobId: job.jobId }, 'delivered job not removed; the consumer will skip it'))
          .finally(() => this.fastRuns.delete(removal));
        this.fastRuns.add(removal);
      }
    }
  }

  /**
   * What the fast path knows of its items' marks without asking Redis: the
   * marks read when the jobs were stored, and the keys delivered since. That
   * is the whole truth unless the queue consumer delivers in the chat too (it
   * may have marked an item meanwhile), or the marks are old: then
   * undefined, and Redis is asked.
   */
  private fastMarked(chat: string, entries: ReadonlyArray<{ marked: readonly string[]; at: number }>): ReadonlySet<string> | undefined {
    const now = Date.now();
    if (entries.some((e) => now - e.at > FAST_MARKS_FRESH_MS)) return undefined;
    const queueAt = this.queueChats.get(chat);
    if (queueAt !== undefined) {
      if (now - queueAt < QUEUE_QUIET_MS) return undefined;
      this.queueChats.delete(chat);
    }
    const marked = new Set<string>();
    for (const e of entries) for (const k of e.marked) marked.add(k);
    return marked;
  }

  /** Kept in order of last touch (a touched chat moves to the end), so clean-up stops at the first recent one. */
  private touchQueueChat(chat: string): void {
    this.queueChats.delete(chat);
    this.queueChats.set(chat, Date.now());
    if (this.queueChats.size <= RECENT_KEYS) return;
    const cutoff = Date.now() - QUEUE_QUIET_MS;
    for (const [c, at] of this.queueChats) {
      if (at >= cutoff) break;
      this.queueChats.delete(c);
    }
  }

  private remember(items: readonly OutboundItem[]): void {
    for (const i of items) this.recentKeys.add(i.key);
  }

  private async promote(jobId: string): Promise<void> {
    try {
      await (await Job.fromId(this.jobs, jobId))?.promote();
    } catch (err) {
      // Already promoted or taken by the consumer: either way the queue has it.
      this.log.debug({ err, jobId }, 'job not promoted');
    }
  }

  start(): void {
    this.worker = new Worker<JobPayload>(this.queue, (job, token) => this.process(job, token), {
      connection: this.connection,
      prefix: this.prefix,
      concurrency: this.policy.concurrency,
      // Fast-path jobs do not wake the consumer (see Outbox): it looks at delayed jobs this often (seconds).
      drainDelay: 1,
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
    if (!w) {
      await this.jobs.close();
      return;
    }
    const grace = new AbortController();
    await Promise.race([Promise.all(this.fastRuns), sleep(graceMs, grace.signal)]);
    const closing = w.close();
    const done = await Promise.race([closing.then(() => true), sleep(graceMs, grace.signal).then(() => false)]);
    grace.abort();
    if (!done) {
      this.abort.abort();
      await w.close(true);
    }
    await this.jobs.close();
  }

  private async process(job: Job<JobPayload>, token: string | undefined): Promise<void> {
    const items = openItems(job.data, this.cipher, this.queue);
    const runs: Array<Promise<void>> = [];
    for (const [chat, list] of byChat(items)) {
      runs.push(
        this.chats.run(chat, async () => {
          this.touchQueueChat(chat);
          await this.deliverChat(list, false);
          this.touchQueueChat(chat);
          if (!this.deferred.delete(`${job.id}|${chat}`)) return;
          const left = (this.slow.get(chat) ?? 1) - 1;
          if (left > 0) this.slow.set(chat, left);
          else this.slow.delete(chat);
        }),
      );
    }
    const settled = await Promise.allSettled(runs);
    const failure = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (!failure) return;
    if ((this.abort.signal.aborted || failure.reason instanceof RequeueError) && token) {
      // Shutting down mid-retry: the job goes back to the queue, not to the dead letters.
      await job.moveToDelayed(Date.now() + 1000, token);
      throw new DelayedError();
    }
    throw failure.reason;
  }

  /**
   * Delivers one chat's items in order. On the fast path a retryable failure
   * stops at once (false: the queue takes over); otherwise it retries with
   * backoff. True when every item is delivered or finally failed.
   */
  private async deliverChat(list: OutboundItem[], fast: boolean, known?: ReadonlySet<string>, finishing?: () => DelayedJobRef[], seq?: DeliverySequence): Promise<boolean> {
    const done = known ? list.map((i) => known.has(i.key) || this.recentKeys.has(i.key)) : await this.marks.delivered(list.map((i) => i.key));
    let pending = list.filter((_, i) => !done[i]);
    const notBefore = pending[0] ? this.triedFast.get(pending[0].key) : undefined;
    let attempt = notBefore === undefined ? 0 : 1;
    if (!fast) {
      for (const i of list) this.triedFast.delete(i.key);
      if (notBefore !== undefined && notBefore > Date.now()) await sleep(notBefore - Date.now(), this.abort.signal);
    }
    while (pending.length > 0) {
      if (this.abort.signal.aborted) throw new RequeueError('dispatcher closing');
      const now = Date.now();
      if (pending.some((i) => isStale(i.env, now))) {
        const stale = pending.filter((i) => isStale(i.env, now));
        await this.giveUp(stale, EXPIRED);
        pending = pending.filter((i) => !stale.includes(i));
        if (pending.length === 0) break;
      }
      let results: DeliveryResult[] | typeof TIMEOUT;
      const batch = pending.map((i) => ({ key: i.key, env: i.env, attempt }));
      const call = this.connector.deliver(batch, seq);
      try {
        results = await withTimeout(call, this.policy.timeoutMs);
      } catch (err) {
        results = [{ ok: false, error: errorInfo(err) }];
      }
      // A call that timed out may still complete: never overlap it with the retry (nor the chat's later calls with it).
      if (results === TIMEOUT && seq) seq.broken = true;
      if (results === TIMEOUT) await withTimeout(call.catch(() => undefined), this.policy.timeoutMs);
      const list: DeliveryResult[] = Array.isArray(results) ? results : [{ ok: false, error: TIMEOUT }];
      let ok = 0;
      while (ok < list.length && ok < pending.length && list[ok]?.ok) ok++;
      // The chat's later calls in the sequence must not go through once this one did not (a timeout included).
      if (seq && ok < pending.length) seq.broken = true;
      if (ok > 0) {
        const sent = pending.slice(0, ok);
        await this.marks.mark(
          sent.map((i) => i.key),
          ok === pending.length && finishing ? finishing() : [],
        );
        this.remember(sent);
        this.events.delivered(this.connector.name, sent);
        pending = pending.slice(ok);
        attempt = 0;
      }
      if (pending.length === 0) break;
      const failure = list[ok];
      const error = failure && !failure.ok ? failure.error : SHORT;
      const head = pending[0] as OutboundItem;
      if (isEphemeral(head.env)) {
        // Typing is not worth a retry: by the next attempt it would be stale.
        await this.giveUp([head], error);
        pending = pending.slice(1);
        attempt = 0;
        continue;
      }
      // While the connector's link is down the work stays queued: waiting costs no attempt.
      const offline = error.retryable && this.connector.status().state !== 'up';
      if (!offline || attempt === 0) attempt++;
      if (fast && error.retryable) {
        this.triedFast.set(head.key, Date.now() + backoffDelay(1, this.policy.backoffBaseMs, this.policy.backoffMaxMs, error.retryAfterMs));
        return false;
      }
      if (!error.retryable || attempt >= this.policy.attempts) {
        // A recipient that stayed unreachable through every attempt fails the
        // chat's other items to it at once, rather than each waiting it out again.
        const gone = error.retryable ? pending.filter((i) => i === head || sameRecipient(i, head)) : [head];
        await this.giveUp(gone, error);
        pending = pending.filter((i) => !gone.includes(i));
        attempt = 0;
        continue;
      }
      const delay = offline
        ? Math.min(OFFLINE_RECHECK_MS, backoffDelay(attempt, this.policy.backoffBaseMs, this.policy.backoffMaxMs))
        : backoffDelay(attempt, this.policy.backoffBaseMs, this.policy.backoffMaxMs, error.retryAfterMs);
      this.events.retrying(this.connector.name, head, attempt, error, delay);
      await sleep(delay, this.abort.signal);
    }
    return true;
  }

  /** Final failure of `items`: reported, then marked done so that no redelivery tries them again. */
  private async giveUp(items: OutboundItem[], error: ErrorInfo): Promise<void> {
    for (const item of items) await this.events.failed(this.connector.name, item, error);
    await this.marks.mark(items.map((i) => i.key));
    this.remember(items);
  }
}
