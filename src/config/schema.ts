import os from 'node:os';
import { z } from 'zod';
import { PLATFORMS, domainSchema } from '../core/address.ts';
import { domainRuleSchema } from '../core/policy.ts';
import { adminConfigSchema } from './admin-schema.ts';
import { teamsConfigSchema } from './teams-schema.ts';
import { xmppConfigSchema } from './xmpp-schema.ts';

const port = z.number().int().min(0).max(65535);
const ms = z.number().int().positive();

export const configSchema = z.object({
  dataDir: z.string().min(1).default('.parley'),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Set only for local trials: relaxes authentication in connectors that have it. */
  developmentMode: z.boolean().default(false),
  http: z
    .object({ host: z.string().default('0.0.0.0'), port: port.default(3978) })
    .prefault({}),
  /** Admin listener: admin API and portal, on its own host and port. */
  admin: adminConfigSchema,
  redis: z
    .object({
      /** External Redis; without it Parley manages its own redis-server child. */
      url: z.string().regex(/^rediss?:\/\//, 'must start with redis:// or rediss://').optional(),
      /** Port of the managed redis-server; 0 picks a free one. */
      port: port.default(0),
      binary: z.string().default('redis-server'),
      keyPrefix: z.string().regex(/^[a-zA-Z0-9:_-]+$/).default('parley'),
    })
    .prefault({}),
  runtime: z
    .object({
      shards: z.number().int().min(1).max(64).default(Math.min(64, Math.max(1, os.availableParallelism()))),
      /** Messages queued for one actor while it is being revived. */
      mailboxLimit: z.number().int().min(1).default(10_000),
      /** Un-acknowledged messages per shard before ingress waits. */
      maxInflightPerShard: z.number().int().min(1).default(20_000),
      passivateAfterMs: ms.default(10 * 60_000),
      passivateSweepMs: ms.default(30_000),
      snapshotTtlDays: z.number().int().min(1).default(90),
      drainTimeoutMs: ms.default(15_000),
      /**
       * Batching under load: a shard is sent ingress messages, and writes its
       * jobs and states to Redis, at most once per this many ms; what arrives
       * sooner waits for the window (a full batch goes at once). A lone message
       * never waits: the window only starts with a send or write. 0 (the
       * default): no windows. Measured on 2 cores, 2 and 4 ms raised p50 at
       * 500 msgs/s from 2-4 ms to ~7 ms and did not lower p99 at half of peak.
       */
      sendWindowMs: z.number().int().min(0).max(1000).default(0),
      commitWindowMs: z.number().int().min(0).max(1000).default(0),
    })
    .prefault({}),
  delivery: z
    .object({
      /** base64 of 32 bytes; default: a key generated once in the data dir. */
      encryptionKey: z
        .string()
        .regex(/^[A-Za-z0-9+/]{43}=$/, 'must be 32 bytes, base64-encoded (44 characters)')
        .optional(),
      attempts: z.number().int().min(1).max(100).default(8),
      backoffBaseMs: ms.default(500),
      backoffMaxMs: ms.default(60_000),
      timeoutMs: ms.default(15_000),
      concurrency: z.number().int().min(1).max(1000).default(64),
      batchMaxItems: z.number().int().min(1).max(10_000).default(500),
      stalledIntervalMs: ms.default(5_000),
      idempotencyTtlSeconds: z.number().int().min(60).default(7 * 24 * 3600),
      /**
       * Fast path: deliver right after the durable write, and hold the job back
       * this long for the queue's consumer (it only redoes what the fast path
       * could not), and what a crash left behind, after a restart. 0 turns the
       * fast path off: every delivery goes through the queue.
       */
      fastPathDelayMs: z.number().int().min(0).max(600_000).default(5_000),
    })
    .prefault({}),
  federation: z
    .object({
      tenant: z.string().min(1).default('default'),
      /** The organisation's own federated domains: parties there are internal. */
      localDomains: z.array(domainSchema).default(['parley.local']),
      defaultAction: z.enum(['allow', 'block']).default('allow'),
      domains: z.array(domainRuleSchema).default([]),
      disabledUsers: z.array(z.string()).default([]),
    })
    .prefault({}),
  analytics: z
    .object({
      /**
       * Where metadata rows go: embedded chDB under <dataDir>/clickhouse, a
       * ClickHouse server over HTTP, or memory (tests, trials). Default: the
       * server when a url is given, else chDB.
       */
      backend: z.enum(['chdb', 'clickhouse', 'memory']).optional(),
      /** ClickHouse server over HTTP, e.g. http://user:password@host:8123/parley */
      url: z.string().regex(/^https?:\/\//, 'must start with http:// or https://').optional(),
      retentionMonths: z.number().int().min(1).max(1200).default(13),
      /** A batch is inserted once this many rows are buffered... */
      batchRows: z.number().int().min(1).max(1_000_000).default(100_000),
      /** ...or this often. */
      flushIntervalMs: ms.default(1_000),
      /** Rows held in memory before new ones are dropped (ClickHouse slower than traffic). */
      maxBufferedRows: z.number().int().min(1).default(500_000),
      /** Bytes of batches kept on disk while ClickHouse is unavailable; beyond this rows are dropped. */
      spoolMaxBytes: z.number().int().min(1).default(1024 ** 3),
    })
    .prefault({})
    .refine((a) => a.backend !== 'clickhouse' || a.url !== undefined, { message: 'backend clickhouse needs a url', path: ['url'] })
    .transform((a) => ({ ...a, backend: a.backend ?? (a.url ? ('clickhouse' as const) : ('chdb' as const)) })),
  connectors: z
    .object({
      loopback: z
        .object({
          enabled: z.boolean().default(false),
          platforms: z.array(z.enum(PLATFORMS)).min(1).default(['loopback']),
          /** Where deliveries go: kept in memory, or appended to a Redis stream. */
          sink: z.enum(['memory', 'redis-stream']).default('redis-stream'),
          stream: z.string().default('parley:loopback:out'),
          /** Enables POST /loopback/v1/ingest for driving Parley from outside. */
          http: z.boolean().default(true),
        })
        .prefault({}),
      xmpp: xmppConfigSchema,
      /** Microsoft Teams through a Bot Framework bot on POST /api/messages; see docs/teams.md. */
      teams: teamsConfigSchema,
      /** SIP SIMPLE through a SIP edge proxy (Kamailio) over SIP-over-WebSocket; see README "Parley behind your own Kamailio". */
      sip: z
        .object({
          enabled: z.boolean().default(false),
          /** The edge's SIP-over-WebSocket listener. */
          edgeUrl: z.string().regex(/^wss?:\/\/[^\s]+$/, 'must be a ws:// or wss:// URL').default('ws://127.0.0.1:8080'),
          /** Parley's SIP domains; default: federation.localDomains. The first names the gateway AOR. */
          domains: z.array(domainSchema).min(1).optional(),
          /** User part of the one AOR Parley registers; the edge routes every local user to it. */
          gatewayUser: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/).default('parley'),
          registerExpiresS: z.number().int().min(60).max(86_400).default(600),
          publishExpiresS: z.number().int().min(60).max(86_400).default(3600),
          subscribeExpiresS: z.number().int().min(60).max(86_400).default(3600),
          requestTimeoutMs: ms.default(10_000),
          /** Largest MESSAGE body accepted (413 beyond). */
          maxBodyBytes: z.number().int().min(1024).max(1024 * 1024).default(32 * 1024),
          /** Largest WebSocket frame accepted from the edge (the connection drops it beyond). */
          maxFrameBytes: z.number().int().min(4096).max(16 * 1024 * 1024).default(256 * 1024),
          reconnectBaseMs: ms.default(500),
          reconnectMaxMs: ms.default(30_000),
          keepAliveMs: ms.default(20_000),
          /** Send formatted messages as text/html (plain text otherwise). */
          html: z.boolean().default(true),
          maxPublications: z.number().int().min(1).default(100_000),
          maxWatches: z.number().int().min(1).default(100_000),
          userAgent: z.string().max(128).default('Parley'),
        })
        .prefault({}),
    })
    .prefault({}),
});

export type Config = z.infer<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;
