import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { DeliveryItem, DeliveryResult, DeliveryTarget, IngestAck } from '../core/connector.ts';
import type { Envelope } from '../core/envelope.ts';
import type { ErrorInfo } from '../core/errors.ts';
import { metadataFor, type MetadataContext, type MetadataEvent } from '../core/metadata.ts';
import type { ContentCipher } from '../delivery/crypto.ts';
import { Dispatcher, type DispatchEvents, type DispatchPolicy } from '../delivery/dispatcher.ts';
import { DeliveryMarks } from '../delivery/idempotency.ts';
import { queueName, type OutboundItem } from '../delivery/items.ts';
import type { DeliverCall, DeliverReply, DispatchCount, FromShard } from './protocol.ts';

export interface ShardDeliveryOptions {
  connectors: readonly string[];
  /** Delivery partitions this shard consumes. */
  partitions: readonly number[];
  connection: Redis;
  marksConnection: Redis;
  prefix: string;
  cipher: ContentCipher;
  policy: DispatchPolicy;
  idempotencyTtlSeconds: number;
  metaCtx: MetadataContext;
  log: Logger;
  post(msg: FromShard): void;
  /** Metadata rows of final outcomes, sent with the shard's next acknowledgements. */
  onMetadata(rows: MetadataEvent[]): void;
}

/**
 * The delivery side of a shard: BullMQ consumers for this shard's partitions.
 * Connectors live in the main thread (they own the sockets), so a delivery is
 * one round trip there; calls made in the same turn travel in one message.
 */
export class ShardDelivery {
  private readonly dispatchers: Dispatcher[] = [];
  private readonly replies = new Map<number, (r: DeliveryResult[]) => void>();
  private readonly systemAcks = new Map<number, (a: IngestAck) => void>();
  private readonly counts = new Map<string, DispatchCount>();
  private calls: DeliverCall[] = [];
  private scheduled = false;
  private nextId = 0;

  constructor(private readonly opts: ShardDeliveryOptions) {}

  start(): void {
    const marks = new DeliveryMarks(this.opts.marksConnection, this.opts.prefix, this.opts.idempotencyTtlSeconds);
    const events = this.events();
    for (const connector of this.opts.connectors) {
      const target: DeliveryTarget = { name: connector, deliver: (items) => this.remoteDeliver(connector, items) };
      for (const p of this.opts.partitions) {
        const d = new Dispatcher(queueName(connector, p), target, this.opts.connection, this.opts.prefix, this.opts.cipher, marks, this.opts.policy, events, this.opts.log);
        d.start();
        this.dispatchers.push(d);
      }
    }
  }

  private remoteDeliver(connector: string, items: readonly DeliveryItem[]): Promise<DeliveryResult[]> {
    const id = ++this.nextId;
    return new Promise((resolve) => {
      this.replies.set(id, resolve);
      this.calls.push([id, connector, items.slice()]);
      if (this.scheduled) return;
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        const calls = this.calls;
        this.calls = [];
        this.opts.post({ k: 'deliver', calls });
      });
    });
  }

  onDelivered(replies: readonly DeliverReply[]): void {
    for (const [id, results] of replies) {
      const resolve = this.replies.get(id);
      this.replies.delete(id);
      resolve?.(results);
    }
  }

  onSystemAck(id: number, ack: IngestAck): void {
    const resolve = this.systemAcks.get(id);
    this.systemAcks.delete(id);
    resolve?.(ack);
  }

  private count(connector: string): DispatchCount {
    let c = this.counts.get(connector);
    if (!c) {
      c = [connector, 0, 0, 0];
      this.counts.set(connector, c);
    }
    return c;
  }

  /** Counters since the last call. */
  takeCounts(): DispatchCount[] {
    const out = [...this.counts.values()];
    this.counts.clear();
    return out;
  }

  private events(): DispatchEvents {
    const { metaCtx, log } = this.opts;
    return {
      delivered: (connector, items) => {
        this.count(connector)[1] += items.length;
        const now = Date.now();
        this.opts.onMetadata(items.map((i) => metadataFor(i.env, i.chat, 'delivered', '', metaCtx, now)));
      },
      retrying: (connector, item, attempt, error, delayMs) => {
        this.count(connector)[3]++;
        log.debug({ connector, id: item.env.id, attempt, code: error.code, delayMs }, 'delivery will be retried');
      },
      failed: async (connector, item, error) => {
        this.count(connector)[2]++;
        this.opts.onMetadata([metadataFor(item.env, item.chat, 'failed', error.code, metaCtx)]);
        log.warn({ connector, id: item.env.id, code: error.code }, 'delivery failed for good');
        await this.tellSender(item, error);
      },
    };
  }

  /** The sender of a message that could not be delivered gets an error envelope, routed like any message. */
  private async tellSender(item: OutboundItem, error: ErrorInfo): Promise<void> {
    if (item.env.type === 'error') return;
    const env: Envelope = {
      type: 'error',
      id: `err-${item.key}`,
      ts: Date.now(),
      from: item.env.to,
      to: item.env.from,
      target: item.env.id,
      code: error.retryable ? 'UNDELIVERABLE' : error.code,
      message: error.retryable ? `${error.message} (gave up after ${this.opts.policy.attempts} attempts)` : error.message,
      retryable: false,
      ...(item.env.chatId ? { chatId: item.env.chatId } : {}),
    };
    const id = ++this.nextId;
    const ack = await new Promise<IngestAck>((resolve) => {
      this.systemAcks.set(id, resolve);
      this.opts.post({ k: 'system', id, env });
    });
    if (ack.outcome === 'rejected') this.opts.log.error({ id: item.env.id, error: ack.error }, 'could not tell the sender about a failed delivery');
  }

  async close(graceMs: number): Promise<void> {
    await Promise.all(this.dispatchers.map((d) => d.close(graceMs)));
  }
}
