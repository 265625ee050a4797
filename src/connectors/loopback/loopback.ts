import type { Redis } from 'ioredis';
import type { Platform } from '../../core/address.ts';
import type { Connector, ConnectorStatus, DeliveryItem, DeliveryResult, HubPort } from '../../core/connector.ts';
import { json, type HttpRequest, type HttpResponse } from '../../core/http.ts';
import { RedisScript } from '../../state/script.ts';

/** A delivery as the far side saw it. */
export interface LoopbackDelivery {
  key: string;
  attempt: number;
  env: DeliveryItem['env'];
}

/** Decides the fate of one item, for fault tests: undefined means deliver it. */
export type FaultPlan = (item: DeliveryItem) => DeliveryResult | undefined;

export interface LoopbackOptions {
  platforms: readonly Platform[];
  /** In-memory far side, or a Redis stream another process reads. */
  sink: 'memory' | 'redis-stream';
  stream: string;
  /** Needed for the redis-stream far side. */
  redis?: Redis;
  http: boolean;
}

const MAX_INGEST_BODY = 4 * 1024 * 1024;
const MAX_INGEST_ITEMS = 5_000;

/**
 * Appends items to the stream, skipping any whose idempotency key the far side
 * has already seen: a far side that honours keys, atomically.
 */
const XADD_DEDUPED = new RedisScript(`
local n = 0
for i = 1, #ARGV, 2 do
  if redis.call('SET', KEYS[2] .. ARGV[i], '1', 'NX', 'EX', 604800) then
    redis.call('XADD', KEYS[1], '*', 'k', ARGV[i], 'e', ARGV[i + 1])
    n = n + 1
  end
end
return n`);

/**
 * The connector that stands in for a platform in tests and benchmarks: it
 * takes envelopes in over HTTP (or from code) and hands deliveries to a far
 * side in memory or in a Redis stream. Everything else in Parley is real.
 */
export class LoopbackConnector implements Connector {
  readonly name = 'loopback';
  readonly platforms: readonly Platform[];
  readonly delivered: LoopbackDelivery[] = [];
  private readonly listeners = new Set<(d: readonly LoopbackDelivery[]) => void>();
  private hub: HubPort | undefined;
  private fault: FaultPlan | undefined;
  private state: ConnectorStatus = { state: 'stopped', since: Date.now() };

  constructor(private readonly opts: LoopbackOptions) {
    this.platforms = opts.platforms;
    if (opts.sink === 'redis-stream' && !opts.redis) throw new Error('loopback: the redis-stream sink needs a Redis connection');
  }

  get port(): HubPort {
    if (!this.hub) throw new Error('loopback connector not started');
    return this.hub;
  }

  async start(hub: HubPort): Promise<void> {
    this.hub = hub;
    if (this.opts.http) {
      hub.route({ method: 'POST', path: '/loopback/v1/ingest', maxBodyBytes: MAX_INGEST_BODY, handler: (req) => this.onHttp(req) });
    }
    this.state = { state: 'up', since: Date.now() };
  }

  /** Also closes the Redis connection it was given: the connector owns it. */
  async stop(): Promise<void> {
    this.opts.redis?.disconnect();
    this.state = { state: 'stopped', since: Date.now() };
  }

  status(): ConnectorStatus {
    return this.state;
  }

  setFault(plan: FaultPlan | undefined): void {
    this.fault = plan;
  }

  onDelivered(listener: (d: readonly LoopbackDelivery[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async deliver(items: readonly DeliveryItem[]): Promise<DeliveryResult[]> {
    const results: DeliveryResult[] = [];
    const accepted: LoopbackDelivery[] = [];
    for (const item of items) {
      const failure = this.fault?.(item);
      if (failure && !failure.ok) {
        results.push(failure);
        break;
      }
      accepted.push({ key: item.key, attempt: item.attempt, env: item.env });
      results.push({ ok: true });
    }
    if (accepted.length > 0) {
      if (this.opts.sink === 'redis-stream') await this.appendToStream(accepted);
      else for (const d of accepted) this.delivered.push(d);
      for (const l of this.listeners) l(accepted);
    }
    return results;
  }

  private async appendToStream(list: readonly LoopbackDelivery[]): Promise<void> {
    const args: string[] = [];
    for (const d of list) args.push(d.key, JSON.stringify(d.env));
    if (this.opts.redis) await XADD_DEDUPED.run(this.opts.redis, [this.opts.stream, `${this.opts.stream}:seen:`], args);
  }

  private async onHttp(req: HttpRequest): Promise<HttpResponse> {
    let parsed: unknown;
    try {
      parsed = JSON.parse(req.body.toString('utf8'));
    } catch {
      return json(400, { error: { code: 'ENVELOPE_INVALID', message: 'body is not valid JSON' } });
    }
    const list = Array.isArray(parsed) ? parsed : [parsed];
    if (list.length > MAX_INGEST_ITEMS) {
      return json(413, { error: { code: 'BODY_TOO_LARGE', message: `at most ${MAX_INGEST_ITEMS} envelopes per request` } });
    }
    const acks = await this.port.ingestMany(list);
    return json(200, { acks });
  }
}
