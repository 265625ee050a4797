import { createHash } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import type { Redis, RedisOptions } from 'ioredis';
import type { Logger } from 'pino';
import type { Origin } from '../../actors/types.ts';
import type { AnalyticsSink } from '../../analytics/sink.ts';
import type { Config } from '../config/schema.ts';
import type { Platform } from '../core/address.ts';
import type { Connector, ConnectorStatus, HubPort, IngestAck, IngestOutcome } from '../core/connector.ts';
import { isEphemeral, parseEnvelope, type Envelope } from '../core/envelope.ts';
import { ID_MAX } from '../core/limits.ts';
import { EnvelopeError, ParleyError, errorInfo, type ErrorInfo } from '../core/errors.ts';
import type { RouteSpec } from '../core/http.ts';
import { metadataFor, type MetadataContext } from '../core/metadata.ts';
import type { PolicySnapshot } from '../core/policy.ts';
import { actorKeyFor } from '../core/routing.ts';
import { ContentCipher, loadContentKey } from '../delivery/crypto.ts';
import { Dispatcher, RequeueError, type DispatchEvents } from '../delivery/dispatcher.ts';
import { DeliveryMarks } from '../delivery/idempotency.ts';
import { queueName, type OutboundItem } from '../delivery/items.ts';
import { PolicyStore } from '../state/policy-store.ts';
import { connectRedis, waitForRedis } from '../state/redis.ts';
import { HubMetrics } from './metrics.ts';
import { ShardRouter } from './shard-router.ts';

export interface HubOptions {
  config: Readonly<Config>;
  redisUrl: string;
  connectors: readonly Connector[];
  sink: AnalyticsSink;
  log: Logger;
  addRoute(spec: RouteSpec): void;
}

export interface Readiness {
  ready: boolean;
  redis: string;
  connectors: Record<string, ConnectorStatus>;
}

/**
 * The hub: validates and routes what connectors receive, runs the shards, and
 * drives the per-connector dispatchers. Connectors see it only as a HubPort.
 */
export class Hub implements HubPort {
  readonly log: Logger;
  readonly metrics = new HubMetrics();
  private readonly config: Readonly<Config>;
  private readonly redis: Redis;
  private readonly sub: Redis;
  private readonly policyStore: PolicyStore;
  private readonly metaCtx: MetadataContext;
  private readonly localDomains: ReadonlySet<string>;
  private readonly dispatchers = new Map<string, Dispatcher>();
  private readonly queues = new Map<string, Queue>();
  /** Connections this hub opened besides its own two, closed on stop. */
  private readonly connections: Redis[] = [];
  private router: ShardRouter | undefined;
  private stopped = false;

  private constructor(private readonly opts: HubOptions) {
    this.config = opts.config;
    this.log = opts.log;
    this.localDomains = new Set(opts.config.federation.localDomains);
    this.metaCtx = { localDomains: this.localDomains, defaultTenant: opts.config.federation.tenant };
    this.redis = connectRedis(opts.redisUrl, 'parley-hub');
    this.sub = connectRedis(opts.redisUrl, 'parley-policy-sub');
    this.redis.on('error', (err) => this.log.warn({ err: err.message }, 'redis connection error'));
    this.sub.on('error', () => undefined);
    this.policyStore = new PolicyStore(this.redis, opts.config.redis.keyPrefix);
  }

  static async start(opts: HubOptions): Promise<Hub> {
    const hub = new Hub(opts);
    await hub.init();
    return hub;
  }

  private routes(): Partial<Record<Platform, string>> {
    const routes: Partial<Record<Platform, string>> = {};
    for (const c of this.opts.connectors) {
      for (const p of c.platforms) {
        if (routes[p]) throw new ParleyError('CONFIG_INVALID', `platform ${p} is served by two connectors (${routes[p]}, ${c.name})`);
        routes[p] = c.name;
      }
    }
    return routes;
  }

  private async init(): Promise<void> {
    const { config } = this;
    await waitForRedis(this.redis, 15_000);
    const prefix = config.redis.keyPrefix;
    const policy = await this.policyStore.seed({
      defaultAction: config.federation.defaultAction,
      domains: config.federation.domains,
      disabledUsers: config.federation.disabledUsers,
    });
    const contentKey = loadContentKey(config.delivery.encryptionKey, config.dataDir);
    const cipher = new ContentCipher(contentKey);
    this.router = new ShardRouter({
      shards: config.runtime.shards,
      maxInflightPerShard: config.runtime.maxInflightPerShard,
      sendWindowMs: config.runtime.sendWindowMs,
      log: this.log,
      onMetadata: (events) => this.opts.sink.write(events),
      onAck: (outcome, ms) => this.countAck(outcome, ms),
      onCommitted: (jobs) => {
        for (const [connector, jobId, items, marked] of jobs) this.dispatchers.get(connector)?.fast(jobId, items, marked);
      },
      data: {
        redisUrl: this.opts.redisUrl,
        prefix,
        contentKey,
        routes: this.routes(),
        localDomains: [...this.localDomains],
        defaultTenant: config.federation.tenant,
        policy,
        mailboxLimit: config.runtime.mailboxLimit,
        batchMaxItems: config.delivery.batchMaxItems,
        snapshotTtlSeconds: config.runtime.snapshotTtlDays * 86_400,
        passivateAfterMs: config.runtime.passivateAfterMs,
        passivateSweepMs: config.runtime.passivateSweepMs,
        fastPathDelayMs: config.delivery.fastPathDelayMs,
        commitWindowMs: config.runtime.commitWindowMs,
      },
    });
    await this.router.start();
    await this.watchPolicy();

    const marksRedis = this.connect('parley-marks', { enableAutoPipelining: true });
    const marks = new DeliveryMarks(marksRedis, prefix, config.delivery.idempotencyTtlSeconds);
    const events = this.dispatchEvents();
    for (const connector of this.opts.connectors) {
      const connection = this.connect(`parley-dispatch-${connector.name}`);
      const d = new Dispatcher(connector, connection, prefix, cipher, marks, config.delivery, events, this.log);
      this.dispatchers.set(connector.name, d);
      this.queues.set(connector.name, new Queue(queueName(connector.name), { connection: this.redis, prefix }));
    }
    for (const connector of this.opts.connectors) await connector.start(this);
    for (const d of this.dispatchers.values()) d.start();
    this.log.info({ shards: config.runtime.shards, cores: os.availableParallelism(), connectors: this.opts.connectors.map((c) => c.name), dataDir: path.resolve(config.dataDir) }, 'hub started');
  }

  private connect(name: string, extra: RedisOptions = {}): Redis {
    const r = connectRedis(this.opts.redisUrl, name, extra);
    r.on('error', () => undefined);
    this.connections.push(r);
    return r;
  }

  private async watchPolicy(): Promise<void> {
    await this.sub.subscribe(this.policyStore.channel);
    this.sub.on('message', (channel) => {
      if (channel !== this.policyStore.channel) return;
      this.reloadPolicy().catch((err: unknown) => this.log.error({ err }, 'policy change not applied; the previous policy stays in force'));
    });
  }

  /** Loads the stored policy and hands it to every shard. */
  async reloadPolicy(): Promise<PolicySnapshot | undefined> {
    const snapshot = await this.policyStore.load();
    if (snapshot) {
      this.router?.broadcastPolicy(snapshot);
      this.log.info({ version: snapshot.version }, 'federation policy applied');
    }
    return snapshot;
  }

  get policy(): PolicyStore {
    return this.policyStore;
  }

  private dispatchEvents(): DispatchEvents {
    return {
      delivered: (connector, items) => {
        this.metrics.delivered.inc({ connector, outcome: 'delivered' }, items.length);
        const now = Date.now();
        this.opts.sink.write(items.map((i) => metadataFor(i.env, i.chat, 'delivered', '', this.metaCtx, now)));
        for (const i of items) if ((i.env.type === 'im' || i.env.type === 'file') && i.env.receiptRequested) void this.sendReceipt(i);
      },
      retrying: (connector, item, attempt, error, delayMs) => {
        this.metrics.retries.inc({ connector, code: error.code });
        this.log.debug({ connector, id: item.env.id, attempt, code: error.code, delayMs }, 'delivery will be retried');
      },
      failed: async (connector, item, error) => {
        this.metrics.delivered.inc({ connector, outcome: 'failed' });
        this.opts.sink.write([metadataFor(item.env, item.chat, 'failed', error.code, this.metaCtx)]);
        if (isEphemeral(item.env)) {
          this.log.debug({ connector, id: item.env.id, code: error.code }, 'typing notification not delivered');
          return;
        }
        this.log.warn({ connector, id: item.env.id, code: error.code }, 'delivery failed for good');
        await this.tellSender(item, error);
      },
    };
  }

  /** A sender that asked for it hears that its message reached the recipient's platform. */
  private async sendReceipt(item: OutboundItem): Promise<void> {
    const env: Envelope = {
      type: 'receipt',
      id: `rcpt-${createHash('sha1').update(item.key).digest('hex')}`,
      ts: Date.now(),
      from: item.env.to,
      to: item.env.from,
      target: item.env.id,
      status: 'delivered',
      ...(item.env.chatId ? { chatId: item.env.chatId } : {}),
    };
    let ack: IngestAck;
    try {
      ack = await this.submit(env, 'system');
    } catch (err) {
      ack = { id: env.id, outcome: 'rejected', error: errorInfo(err) };
    }
    if (ack.outcome === 'rejected') this.log.warn({ id: item.env.id, error: ack.error }, 'delivery receipt not sent');
  }

  /** The sender of a message that could not be delivered gets an error envelope. */
  private async tellSender(item: OutboundItem, error: ErrorInfo): Promise<void> {
    if (item.env.type === 'error') return;
    const code = error.retryable ? 'UNDELIVERABLE' : error.code;
    const env: Envelope = {
      type: 'error',
      id: `err-${createHash('sha1').update(item.key).digest('hex')}`,
      ts: Date.now(),
      from: item.env.to,
      to: item.env.from,
      target: item.env.id,
      code,
      message: error.retryable ? `${error.message} (gave up after ${this.config.delivery.attempts} attempts)` : error.message,
      retryable: false,
      ...(item.env.chatId ? { chatId: item.env.chatId } : {}),
    };
    for (let attempt = 1; ; attempt++) {
      const ack = await this.submit(env, 'system');
      if (ack.outcome !== 'rejected') return;
      if (!ack.error?.retryable) {
        this.log.error({ id: item.env.id, error: ack.error }, 'could not tell the sender about a failed delivery');
        return;
      }
      // Overloaded or shutting down: the job goes back to the queue and tries again later.
      if (ack.error.code === 'SHUTTING_DOWN' || attempt >= 20) throw new RequeueError(`error envelope refused: ${ack.error.code}`);
      await new Promise((r) => setTimeout(r, 100 * attempt));
    }
  }

  /** The router answers for the metrics too (`onAck`). */
  private submit(env: Envelope, origin: Origin): Promise<IngestAck> {
    const router = this.router;
    if (!router || this.stopped) {
      return Promise.resolve({ id: env.id, outcome: 'rejected', error: new ParleyError('SHUTTING_DOWN').toInfo() });
    }
    return router.submit(actorKeyFor(env, this.localDomains), origin, env);
  }

  private countAck(outcome: IngestOutcome, ms: number): void {
    this.metrics.ackLatency.observe(ms / 1000);
    this.metrics.ingressBy(outcome).inc();
  }

  ingest(input: unknown): Promise<IngestAck> {
    return this.parseAndSubmit(input, 'ingress');
  }

  /**
   * An envelope Parley itself originates on an administrator's decision (a
   * revoked contact and the notice to its user): validated like any other,
   * but past the federation policy, which stops users and partners, not the
   * organisation's own decisions. Revoking a contact in a blocked domain must
   * still end the subscription there.
   */
  ingestAsParley(input: unknown): Promise<IngestAck> {
    return this.parseAndSubmit(input, 'system');
  }

  /** Not an async function: the common case costs one promise, the router's. */
  private parseAndSubmit(input: unknown, origin: Origin): Promise<IngestAck> {
    let env: Envelope;
    try {
      env = parseEnvelope(input);
    } catch (err) {
      if (!(err instanceof EnvelopeError)) return Promise.reject(err);
      this.metrics.ingressBy('rejected').inc();
      const id = typeof input === 'object' && input !== null && typeof (input as { id?: unknown }).id === 'string' ? String((input as { id: string }).id).slice(0, ID_MAX) : '';
      return Promise.resolve({ id, outcome: 'rejected', error: err.toInfo() });
    }
    try {
      return this.submit(env, origin);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  ingestMany(inputs: readonly unknown[]): Promise<IngestAck[]> {
    return Promise.all(inputs.map((i) => this.ingest(i)));
  }

  route(spec: RouteSpec): void {
    this.opts.addRoute(spec);
  }

  readiness(): Readiness {
    const connectors: Record<string, ConnectorStatus> = {};
    for (const c of this.opts.connectors) connectors[c.name] = c.status();
    const redis = this.redis.status;
    const ready = !this.stopped && redis === 'ready' && Object.values(connectors).every((s) => s.state === 'up');
    return { ready, redis, connectors };
  }

  /** Refreshes gauges that are read on demand (queue depths, resident actors). */
  async collectMetrics(): Promise<void> {
    for (const [name, q] of this.queues) {
      const counts = await q.getJobCounts('waiting', 'active', 'delayed', 'failed');
      for (const [state, n] of Object.entries(counts)) this.metrics.queueJobs.set({ connector: name, state }, n);
    }
    for (const c of this.opts.connectors) {
      this.metrics.connectorUp.set({ connector: c.name }, c.status().state === 'up' ? 1 : 0);
      for (const [event, n] of Object.entries(c.counters?.() ?? {})) this.metrics.connectorEvents.set({ connector: c.name, event }, n);
    }
    this.metrics.inflight.set(this.router?.inflight ?? 0);
    for (const s of (await this.router?.stats()) ?? []) this.metrics.actors.set({ shard: String(s.shard) }, s.resident);
  }

  get shards(): ShardRouter {
    if (!this.router) throw new ParleyError('INTERNAL', 'hub not started');
    return this.router;
  }

  /** Graceful drain: refuse new work, finish acknowledgements, persist actors, let deliveries settle. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    const timeout = this.config.runtime.drainTimeoutMs;
    await this.router?.stop(timeout);
    this.stopped = true;
    await Promise.all([...this.dispatchers.values()].map((d) => d.close(timeout)));
    for (const c of this.opts.connectors) await c.stop();
    await Promise.all([...this.queues.values()].map((q) => q.close()));
    await this.opts.sink.close();
    for (const r of this.connections) r.disconnect();
    this.sub.disconnect();
    this.redis.disconnect();
  }
}
