import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { IngestOutcome } from '../core/connector.ts';

/** Prometheus metrics of the hub, on a registry of its own (no global state). */
export class HubMetrics {
  readonly registry = new Registry();
  readonly ingress = new Counter({
    name: 'parley_ingress_total',
    help: 'Envelopes received from connectors, by outcome',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  readonly ackLatency = new Histogram({
    name: 'parley_ingress_ack_seconds',
    help: 'Time from ingress until the message is durably enqueued',
    buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1, 5],
    registers: [this.registry],
  });
  readonly delivered = new Counter({
    name: 'parley_delivery_total',
    help: 'Delivery outcomes by connector',
    labelNames: ['connector', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly retries = new Counter({
    name: 'parley_delivery_retries_total',
    help: 'Delivery attempts that will be retried',
    labelNames: ['connector', 'code'] as const,
    registers: [this.registry],
  });
  readonly inflight = new Gauge({
    name: 'parley_ingress_inflight',
    help: 'Messages accepted by the router and not yet acknowledged',
    registers: [this.registry],
  });
  readonly queueJobs = new Gauge({
    name: 'parley_queue_jobs',
    help: 'Delivery jobs by connector and state',
    labelNames: ['connector', 'state'] as const,
    registers: [this.registry],
  });
  readonly actors = new Gauge({
    name: 'parley_actors_resident',
    help: 'Actors resident in memory, by shard',
    labelNames: ['shard'] as const,
    registers: [this.registry],
  });
  readonly connectorUp = new Gauge({
    name: 'parley_connector_up',
    help: '1 when the connector is up',
    labelNames: ['connector'] as const,
    registers: [this.registry],
  });

  readonly connectorEvents = new Gauge({
    name: 'parley_connector_events',
    help: 'Event counts a connector reports (stanzas, refusals, reconnects, ...), since start',
    labelNames: ['connector', 'event'] as const,
    registers: [this.registry],
  });

  private readonly ingressChildren = new Map<IngestOutcome, Counter.Internal>();

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'parley_' });
  }

  /** The ingress counter of one outcome, bound once: no label object per message. */
  ingressBy(outcome: IngestOutcome): Counter.Internal {
    let c = this.ingressChildren.get(outcome);
    if (!c) {
      c = this.ingress.labels(outcome);
      this.ingressChildren.set(outcome, c);
    }
    return c;
  }
}
