import { randomUUID } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import type { Redis, RedisOptions } from 'ioredis';
import type { Logger } from 'pino';
import type { Origin } from '../../actors/types.ts';
import type { AnalyticsSink } from '../../analytics/sink.ts';
import type { Config } from '../config/schema.ts';
import type { Platform } from '../core/address.ts';
import type { Connector, ConnectorStatus, DeliveryItem, DeliveryResult, HubPort, IngestAck } from '../core/connector.ts';
import { parseEnvelope, type Envelope } from '../core/envelope.ts';
import { EnvelopeError, ParleyError, errorInfo } from '../core/errors.ts';
import type { RouteSpec } from '../core/http.ts';
import type { PolicySnapshot } from '../core/policy.ts';
import { actorKeyFor } from '../core/routing.ts';
import { loadContentKey } from '../delivery/crypto.ts';
import { QUEUE_NAME_RE, queueName } from '../delivery/items.ts';
import { PolicyStore } from '../state/policy-store.ts';
import { connectRedis, waitForRedis } from '../state/redis.ts';
import { HubMetrics } from './metrics.ts';
import type { DeliverReply } from './protocol.ts';
import { ShardRouter } from './shard-router.ts';

const NOT_UP: DeliveryResult[] = [{ ok: false, error: { code: 'DELIVERY_UNAVAILABLE', message: 'connector is not up', retryable: true } }];

/** A connector's delivery as the shards see it: never throws, says so when the connector is down. */
async function deliverVia(connector: Connector | undefined, items: readonly DeliveryItem[]): Promise<DeliveryResult[]> {
  if (!connector) return [{ ok: false, error: { code: 'NO_CONNECTOR', message: 'no such connector', retryable: false } }];
  if (connector.status().state !== 'up') return NOT_UP;
  try {
    return await connector.deliver(items);
  } catch (err) {
    return [{ ok: false, error: { ...errorInfo(err), retryable: true } }];
  }
}

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
  private readonly localDomains: ReadonlySet<string>;
  private readonly queues = new Map<string, Queue>();
  /** Connections this hub opened besides its own two, closed on stop. */
  private readonly connections: Redis[] = [];
  private router: ShardRouter | undefined;
  private stopped = false;

  private constructor(private readonly opts: HubOptions) {
    this.config = opts.config;
    this.log = opts.log;
    this.localDomains = new Set(opts.config.federation.localDomains);
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
    const connectors = new Map(this.opts.connectors.map((c) => [c.name, c]));
    const partitions = await this.existingPartitions(prefix);
    this.router = new ShardRouter({
      shards: config.runtime.shards,
      maxInflightPerShard: config.runtime.maxInflightPerShard,
      leftoverPartitions: partitions,
      log: this.log,
      onMetadata: (events) => this.opts.sink.write(events),
      onCounts: (counts) => {
        for (const [connector, delivered, failed, retries] of counts) {
          if (delivered) this.metrics.delivered.inc({ connector, outcome: 'delivered' }, delivered);
          if (failed) this.metrics.delivered.inc({ connector, outcome: 'failed' }, failed);
          if (retries) this.metrics.retries.inc({ connector }, retries);
        }
      },
      deliver: (calls) => Promise.all(calls.map(([id, name, items]) => deliverVia(connectors.get(name), items).then((r): DeliverReply => [id, r]))),
      submitSystem: (env) => this.submit(env, 'system'),
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
        delivery: config.delivery,
        logLevel: config.logLevel,
      },
    });
    for (const c of this.opts.connectors) {
      for (let p = 0; p < config.runtime.shards; p++) this.queues.set(queueName(c.name, p), new Queue(queueName(c.name, p), { connection: this.redis, prefix }));
    }
    await this.router.start();
    await this.watchPolicy();
    for (const connector of this.opts.connectors) await connector.start(this);
    this.log.info({ shards: config.runtime.shards, cores: os.availableParallelism(), connectors: this.opts.connectors.map((c) => c.name), dataDir: path.resolve(config.dataDir) }, 'hub started');
  }

  /** Delivery partitions that exist in Redis (a previous run may have had more shards). */
  private async existingPartitions(prefix: string): Promise<number[]> {
    const found = new Set<number>();
    let cursor = '0';
    do {
      const [next, keys] = await this.redis.scan(cursor, 'MATCH', `${prefix}:deliver-*:meta`, 'COUNT', 1000);
      cursor = next;
      for (const k of keys) {
        const m = QUEUE_NAME_RE.exec(k.slice(prefix.length + 1, -':meta'.length));
        if (m) found.add(Number(m[2]));
      }
    } while (cursor !== '0');
    return [...found].sort((a, b) => a - b);
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
      void this.reloadPolicy();
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

  private async submit(env: Envelope, origin: Origin): Promise<IngestAck> {
    const router = this.router;
    if (!router || this.stopped) return { id: env.id, outcome: 'rejected', error: new ParleyError('SHUTTING_DOWN').toInfo() };
    const started = performance.now();
    const ack = await router.submit(actorKeyFor(env, this.localDomains), origin, env);
    this.metrics.ackLatency.observe((performance.now() - started) / 1000);
    this.metrics.ingress.inc({ outcome: ack.outcome });
    return ack;
  }

  async ingest(input: unknown): Promise<IngestAck> {
    let env: Envelope;
    try {
      env = parseEnvelope(input);
    } catch (err) {
      if (!(err instanceof EnvelopeError)) throw err;
      this.metrics.ingress.inc({ outcome: 'rejected' });
      const id = typeof input === 'object' && input !== null && typeof (input as { id?: unknown }).id === 'string' ? String((input as { id: string }).id).slice(0, 256) : '';
      return { id, outcome: 'rejected', error: err.toInfo() };
    }
    return this.submit(env, 'ingress');
  }

  ingestMany(inputs: readonly unknown[]): Promise<IngestAck[]> {
    return Promise.all(inputs.map((i) => this.ingest(i)));
  }

  route(spec: RouteSpec): void {
    this.opts.addRoute(spec);
  }

  newId(): string {
    return randomUUID();
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
    const totals = new Map<string, Record<string, number>>();
    for (const [name, q] of this.queues) {
      const connector = QUEUE_NAME_RE.exec(name)?.[1] ?? name;
      const sum = totals.get(connector) ?? {};
      for (const [state, n] of Object.entries(await q.getJobCounts('waiting', 'active', 'delayed', 'failed'))) sum[state] = (sum[state] ?? 0) + n;
      totals.set(connector, sum);
    }
    for (const [connector, sum] of totals) for (const [state, n] of Object.entries(sum)) this.metrics.queueJobs.set({ connector, state }, n);
    for (const c of this.opts.connectors) this.metrics.connectorUp.set({ connector: c.name }, c.status().state === 'up' ? 1 : 0);
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
    for (const c of this.opts.connectors) await c.stop();
    await Promise.all([...this.queues.values()].map((q) => q.close()));
    await this.opts.sink.close();
    for (const r of this.connections) r.disconnect();
    this.sub.disconnect();
    this.redis.disconnect();
  }
}
