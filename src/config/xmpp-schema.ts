import { z } from 'zod';
import { PLATFORMS, domainSchema } from '../core/address.ts';

const ms = z.number().int().positive();

/** The XMPP connector: Parley as an XEP-0114 component of an XMPP server. */
export const xmppConfigSchema = z
  .object({
    enabled: z.boolean().default(false),
    /** The server's component listener. */
    service: z.string().regex(/^xmpp:\/\/[^/\s]+:\d+$/, 'must look like xmpp://host:port').default('xmpp://127.0.0.1:5347'),
    /** The component's domain: the organisation's federated XMPP domain (also a local domain). */
    domain: domainSchema.default('parley.local'),
    /** The component secret shared with the server. */
    secret: z.string().min(8).max(1024).optional(),
    /**
     * A domain the server itself answers XEP-0199 pings for (one of its
     * VirtualHosts). A delivery counts once the server answered a ping sent
     * after it; without one, once it left for the socket.
     */
    barrierDomain: domainSchema.optional(),
    /** The platform of the organisation's own users (the other side of the bridge). */
    localPlatform: z.enum(PLATFORMS).default('teams'),
    /** The room service's component domain (also a local domain); unset: no rooms. */
    roomsDomain: domainSchema.optional(),
    roomsSecret: z.string().min(8).max(1024).optional(),
    name: z.string().min(1).max(64).default('Parley'),
    /** A stanza larger than this is refused with a stanza error. */
    maxStanzaBytes: z.number().int().min(1024).max(16 * 1024 * 1024).default(256 * 1024),
    /** Bytes without one complete stanza before the stream is dropped and reopened. */
    maxPendingBytes: z.number().int().min(4096).max(64 * 1024 * 1024).default(2 * 1024 * 1024),
    messagesPerSecondPerDomain: z.number().int().min(1).default(5_000),
    burstPerDomain: z.number().int().min(1).default(10_000),
    presenceCoalesceMs: ms.default(500),
    maxPresencePairs: z.number().int().min(100).default(200_000),
    reconnectMinMs: ms.default(250),
    reconnectMaxMs: ms.default(30_000),
    connectTimeoutMs: ms.default(10_000),
    /** How long one delivery waits for a lost stream to come back before it is retried later. */
    offlineWaitMs: ms.default(5_000),
  })
  .prefault({})
  .refine((x) => !x.enabled || x.secret !== undefined, { message: 'connectors.xmpp.secret is required when the XMPP connector is enabled', path: ['secret'] })
  .refine((x) => !x.enabled || !x.roomsDomain || x.roomsSecret !== undefined, { message: 'connectors.xmpp.roomsSecret is required with a roomsDomain', path: ['roomsSecret'] });

export type XmppConfig = z.infer<typeof xmppConfigSchema>;
