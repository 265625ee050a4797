import { z } from 'zod';

const ms = z.number().int().positive();
const url = z.string().regex(/^https?:\/\/[^\s]+$/, 'must be an http(s) URL');

/** Hosts Microsoft's channels post from; the bot's token only ever goes to these. */
export const MICROSOFT_SERVICE_HOSTS = [
  'smba.trafficmanager.net',
  '*.botframework.com',
  'smba.infra.gcc.teams.microsoft.com',
  'smba.infra.gov.teams.microsoft.us',
  'smba.infra.dod.teams.microsoft.us',
  '*.botframework.azure.us',
] as const;

/**
 * The Teams connector: Parley as a Bot Framework bot on POST /api/messages.
 * Endpoint defaults are Microsoft's public cloud; every one can be pointed
 * elsewhere (a sovereign cloud, or a local stand-in in tests).
 */
export const teamsConfigSchema = z
  .object({
    enabled: z.boolean().default(false),
    /** Azure Bot registration: application (client) id and secret. */
    appId: z.string().max(128).optional(),
    appPassword: z.string().max(1024).optional(),
    /** The app's tenant for single-tenant bots; multi-tenant bots use botframework.com. */
    appTenantId: z.string().regex(/^[A-Za-z0-9.-]{1,128}$/).default('botframework.com'),
    path: z.string().regex(/^\/[A-Za-z0-9/_-]*$/).default('/api/messages'),
    /** Inbound: where the channel's signing keys are published, and who issues its tokens. */
    openIdMetadataUrl: url.default('https://login.botframework.com/v1/.well-known/openidconfiguration'),
    tokenIssuer: z.string().min(1).default('https://api.botframework.com'),
    /** Extra issuers accepted beside tokenIssuer (skills and emulator tokens only). */
    extraTokenIssuers: z.array(z.string().min(1)).default([]),
    /** Outbound: the authority the bot's client-credentials token comes from, and its scope. */
    loginUrl: url.default('https://login.microsoftonline.com/botframework.com'),
    oauthScope: z.string().min(1).default('https://api.botframework.com'),
    /** Host of the login authority when it is not one MSAL knows (skips instance discovery). */
    knownAuthorities: z.array(z.string().min(1)).default([]),
    /** Empty for the public cloud; https://botframework.azure.us for US Government. */
    channelService: z.string().default(''),
    /** serviceUrl hosts the bot's token may be sent to (`*.` matches subdomains). */
    serviceUrlHosts: z.array(z.string().regex(/^(\*\.)?[A-Za-z0-9.-]+(:\d+)?$/)).default([...MICROSOFT_SERVICE_HOSTS]),
    /** PEM file of extra CAs trusted for the endpoints above (local stand-ins; normally unset). */
    caFile: z.string().optional(),
    /** The answer to the channel is given within this (Teams redelivers after 15 s); 503 after. */
    answerWithinMs: z.number().int().min(100).max(14_000).default(10_000),
    /** A redelivered activity (same id and conversation) within this window is processed once. */
    dedupeTtlSeconds: z.number().int().min(60).default(24 * 3600),
    /** Sends per second into one conversation, and requests per second per tenant (Teams' limits). */
    perConversationPerSecond: z.number().positive().default(7),
    perTenantPerSecond: z.number().positive().default(50),
    /** A send that would wait longer than this for its turn is handed back to the queue instead. */
    maxPacingWaitMs: ms.default(5_000),
    /** One call to the Bot Connector (post, update, delete, member lookup). */
    requestTimeoutMs: ms.default(10_000),
    /** How long a send is remembered (its item key -> activity id), so a retry never posts twice. */
    sentTtlSeconds: z.number().int().min(60).default(7 * 24 * 3600),
  })
  .prefault({});

export type TeamsConfig = z.infer<typeof teamsConfigSchema>;
