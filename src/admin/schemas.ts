import { z } from 'zod';
import { PLATFORMS } from '../core/address.ts';

/**
 * The admin API contract: every request and response body under
 * /admin/api/v1, as zod schemas. The server validates with them, the OpenAPI
 * document is generated from them, and the portal UI imports their types.
 * Resource ids travel in the query string (the HTTP seam matches exact paths).
 */

export const API_PREFIX = '/admin/api/v1';
export const OPENAPI_PATH = '/admin/api/openapi.json';
/** Session cookie: HttpOnly, SameSite=Strict, Path=/, Secure outside developmentMode. */
export const SESSION_COOKIE = 'parley_admin';
/** Header carrying the session's CSRF token on every POST/PUT/DELETE made with the session cookie. */
export const CSRF_HEADER = 'x-csrf-token';

// ---- shared pieces ----------------------------------------------------------

export const roleSchema = z.enum(['admin', 'analyst']);
export type Role = z.infer<typeof roleSchema>;
export const platformSchema = z.enum(PLATFORMS);
/** read: GET routes; write: changes, and reads too. */
export const tokenScopeSchema = z.enum(['read', 'write']);
export type TokenScope = z.infer<typeof tokenScopeSchema>;

/** Milliseconds since the epoch. */
export const epochMs = z.number().int().nonnegative();
const singleLine = (max: number) => z.string().max(max).regex(/^[^\0\r\n]*$/, 'must be a single line');

export const errorSchema = z.object({
  error: z.object({ code: z.string(), message: z.string(), issues: z.array(z.string()).optional() }),
});
export type ApiError = z.infer<typeof errorSchema>;

export const okSchema = z.object({ ok: z.literal(true) });

export const pageQuerySchema = z.object({
  offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});

// ---- auth / session / me / csrf --------------------------------------------

export const usernameSchema = z.string().min(3).max(64).regex(/^[a-zA-Z0-9._@-]+$/, 'letters, digits and . _ @ - only');
export const passwordSchema = z.string().min(12, 'at least 12 characters').max(1024);
export const totpCodeSchema = z.string().regex(/^\d{6}$/, 'six digits');

/** GET /auth/status (no session needed): what the sign-in page should offer. */
export const authStatusSchema = z.object({
  /** True until the first admin account exists: offer the setup form (token printed at start-up). */
  setupRequired: z.boolean(),
  localLogin: z.boolean(),
  oidc: z.object({ enabled: z.boolean(), name: z.string().optional() }),
});

export const meSchema = z.object({
  id: z.string(),
  username: z.string(),
  name: z.string().optional(),
  role: roleSchema,
  source: z.enum(['local', 'oidc']),
  totpEnrolled: z.boolean(),
});
export type Me = z.infer<typeof meSchema>;

/**
 * Where a session stands. `totp`: password accepted, second factor due
 * (POST /auth/login/totp). `enrol`: an admin without TOTP yet, must enrol
 * (POST /auth/totp/enrol, then /auth/totp/confirm). `active`: full session.
 * Only `active` sessions reach the rest of the API.
 */
export const sessionStageSchema = z.enum(['totp', 'enrol', 'active']);

/** GET /auth/session, and the answer of setup, login, login/totp, totp/confirm. */
export const sessionSchema = z.object({
  stage: sessionStageSchema,
  user: meSchema,
  /** Send back in the x-csrf-token header on every POST/PUT/DELETE. */
  csrfToken: z.string(),
  expiresAt: epochMs,
  idleExpiresAt: epochMs,
});
export type Session = z.infer<typeof sessionSchema>;

/** GET /auth/csrf */
export const csrfSchema = z.object({ csrfToken: z.string() });

/** POST /auth/setup (no session; needs the one-time setup token printed at start-up). */
export const setupRequestSchema = z.object({
  token: z.string().min(16).max(256),
  username: usernameSchema,
  password: passwordSchema,
  name: singleLine(256).optional(),
});

/** POST /auth/login */
export const loginRequestSchema = z.object({ username: z.string().min(1).max(64), password: z.string().min(1).max(1024) });

/** POST /auth/login/totp and POST /auth/totp/confirm */
export const totpCodeRequestSchema = z.object({ code: totpCodeSchema });

/** POST /auth/totp/enrol: the secret is shown once; confirm with a code to activate. */
export const totpEnrolmentSchema = z.object({
  secret: z.string(),
  /** otpauth://totp/... for a QR code. */
  uri: z.string(),
  issuer: z.string(),
  digits: z.literal(6),
  periodSeconds: z.literal(30),
  algorithm: z.literal('SHA1'),
});

// ---- local accounts (admin only) -------------------------------------------

export const accountSchema = z.object({
  id: z.string(),
  username: z.string(),
  name: z.string().optional(),
  role: roleSchema,
  totpEnrolled: z.boolean(),
  createdAt: epochMs,
  lockedUntil: epochMs.optional(),
});
export const accountListSchema = z.object({ accounts: z.array(accountSchema) });
export const accountCreateSchema = z.object({
  username: usernameSchema,
  password: passwordSchema,
  role: roleSchema,
  name: singleLine(256).optional(),
});

// ---- API tokens (admin only) -----------------------------------------------

export const apiTokenSchema = z.object({
  id: z.string(),
  name: z.string(),
  scopes: z.array(tokenScopeSchema),
  createdBy: z.string(),
  createdAt: epochMs,
  expiresAt: epochMs.optional(),
  lastUsedAt: epochMs.optional(),
});
export const apiTokenListSchema = z.object({ tokens: z.array(apiTokenSchema) });
export const apiTokenCreateSchema = z.object({
  name: singleLine(128).min(1),
  scopes: z.array(tokenScopeSchema).min(1),
  expiresInDays: z.number().int().min(1).max(3650).optional(),
});
/** The secret appears here only, once: `Authorization: Bearer <token>`. */
export const apiTokenCreatedSchema = z.object({ token: z.string(), info: apiTokenSchema });

// ---- federations -------------------------------------------------------------

/** Lower-case DNS name; a rule for `example.com` also covers its subdomains unless they have their own. */
export const apiDomainSchema = z
  .string()
  .min(1)
  .max(253)
  .regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/, 'not a valid lower-case domain name');

export const federationSchema = z.object({
  domain: apiDomainSchema,
  action: z.enum(['allow', 'block']),
  /** Absent: every platform. */
  platforms: z.array(platformSchema).optional(),
  kind: z.enum(['internal', 'partner']),
  /** Free text, shown as text (never HTML). */
  label: z.string().max(256).optional(),
});
export type Federation = z.infer<typeof federationSchema>;

/** GET /federations */
export const federationListSchema = z.object({
  version: z.number().int(),
  defaultAction: z.enum(['allow', 'block']),
  localDomains: z.array(z.string()),
  domains: z.array(federationSchema),
});

/** POST /federations (409 when the domain has a rule already) */
export const federationCreateSchema = federationSchema.extend({ kind: z.enum(['internal', 'partner']).default('partner') });
/** PUT /federations?domain=: fields given replace; `platforms: null` means every platform, `label: null` removes it. */
export const federationUpdateSchema = z.object({
  action: z.enum(['allow', 'block']).optional(),
  platforms: z.array(platformSchema).nullable().optional(),
  kind: z.enum(['internal', 'partner']).optional(),
  label: z.string().max(256).nullable().optional(),
});
/** PUT /federations/default */
export const defaultActionSchema = z.object({ defaultAction: z.enum(['allow', 'block']) });
export const domainQuerySchema = z.object({ domain: apiDomainSchema });

// ---- users and contacts ------------------------------------------------------

export const userQuerySchema = pageQuerySchema.extend({ q: singleLine(200).optional() });

export const userSchema = z.object({
  id: z.string(),
  platform: platformSchema,
  domain: z.string(),
  tenant: z.string().optional(),
  name: z.string().optional(),
  email: z.string().optional(),
  upn: z.string().optional(),
  firstSeen: epochMs,
  lastSeen: epochMs,
  federationEnabled: z.boolean(),
});
export type AdminUser = z.infer<typeof userSchema>;

/** GET /users?q=&offset=&limit= */
export const userListSchema = z.object({
  total: z.number().int(),
  offset: z.number().int(),
  limit: z.number().int(),
  users: z.array(userSchema),
});

/** ?id=<user id, e.g. alice@parley.local> */
export const userIdQuerySchema = z.object({ id: z.string().min(1).max(512) });
/** PUT /users/federation?id= */
export const userFederationSchema = z.object({ enabled: z.boolean() });

export const contactSchema = z.object({
  /** The external party's address id (bare JID, SIP AOR). */
  address: z.string(),
  platform: platformSchema,
  domain: z.string(),
  state: z.enum(['pending-out', 'pending-in', 'accepted']),
  /** When the relationship entered its current state (ms). */
  since: epochMs,
  /** `user`: the Teams user asked first; `contact`: the external party did; `unknown` for contacts made before Parley kept track. */
  askedFirst: z.enum(['user', 'contact', 'unknown']),
});
export type Contact = z.infer<typeof contactSchema>;

/** GET /users/contacts?id= */
export const contactListSchema = z.object({ user: z.string(), contacts: z.array(contactSchema) });

/** POST /users/contacts/revoke */
export const contactRevokeSchema = z.object({
  user: z.string().min(1).max(512),
  /** Platform and address of the contact, as listed. */
  platform: platformSchema,
  address: z.string().min(1).max(512),
});
export const contactRevokedSchema = z.object({ revoked: z.literal(true), outcome: z.string() });

// ---- connectors and dead letters --------------------------------------------

export const queueCountsSchema = z.object({
  waiting: z.number().int(),
  active: z.number().int(),
  delayed: z.number().int(),
  failed: z.number().int(),
  prioritized: z.number().int(),
});

export const connectorSchema = z.object({
  name: z.string(),
  platforms: z.array(z.string()),
  state: z.enum(['starting', 'up', 'reconnecting', 'down', 'stopped']),
  since: epochMs,
  detail: z.string().optional(),
  queue: queueCountsSchema,
  /** Delivery retries seen since start (from the hub's metrics). */
  retries: z.number().int(),
  counters: z.record(z.string(), z.number()),
});

/** GET /connectors */
export const connectorListSchema = z.object({
  ready: z.boolean(),
  redis: z.string(),
  connectors: z.array(connectorSchema),
});

/** Metadata of one failed delivery job: never its (sealed) content. */
export const deadLetterSchema = z.object({
  id: z.string(),
  connector: z.string(),
  /** Messages sealed in the job. */
  items: z.number().int(),
  attempts: z.number().int(),
  error: z.string(),
  createdAt: epochMs,
  failedAt: epochMs.optional(),
});

export const deadLetterQuerySchema = pageQuerySchema.extend({ connector: z.string().min(1).max(128).optional() });

/** GET /dead-letters?connector=&offset=&limit= */
export const deadLetterListSchema = z.object({ total: z.number().int(), deadLetters: z.array(deadLetterSchema) });

/** POST /dead-letters/replay and POST /dead-letters/discard */
export const deadLetterActionSchema = z.object({
  connector: z.string().min(1).max(128),
  ids: z.array(z.string().min(1).max(256)).min(1).max(1000),
});
export const deadLetterActionResultSchema = z.object({ done: z.number().int(), missing: z.array(z.string()) });

// ---- reports -----------------------------------------------------------------

export const REPORT_ROUTE_NAMES = ['monthly', 'monthly-by-side', 'monthly-by-platform', 'top-domains', 'domain-detail', 'user-detail'] as const;

/** Query of GET /reports/<name>: from/to YYYY-MM-DD (to excluded; default trailing 12 months), tenant ('' = all), format=csv for CSV. */
export const reportQuerySchema = z.object({
  from: z.string().regex(/^\d{4}-\d{2}-\d{2}$/).optional(),
  to: z.string().regex(/^\d{4}-\d{2}-\d{2}$/).optional(),
  tenant: singleLine(200).optional(),
  /** top-domains only */
  limit: z.coerce.number().int().min(1).max(10_000).optional(),
  /** domain-detail only */
  domain: singleLine(253).optional(),
  /** user-detail only */
  user: singleLine(1024).optional(),
  format: z.enum(['json', 'csv']).default('json'),
});

const num = z.number();
const month = z.string();
export const reportRowSchemas = {
  monthly: z.object({ month, users: num, messages: num }),
  'monthly-by-side': z.object({ month, side: z.enum(['internal', 'external']), users: num, messages: num }),
  'monthly-by-platform': z.object({ month, platform: z.string(), users: num, messages: num }),
  'top-domains': z.object({ domain: z.string(), users: num, messages: num }),
  'domain-detail': z.object({ month, type: z.string(), users: num, messages: num }),
  'user-detail': z.object({ month, type: z.string(), sent: num, received: num, counterparts: num }),
} as const;

export const reportResultSchema = <R extends z.ZodType>(row: R) =>
  z.object({
    report: z.string(),
    from: z.string(),
    to: z.string(),
    tenant: z.string(),
    rows: z.array(row),
  });

/** GET /reports */
export const reportListSchema = z.object({
  reports: z.array(z.object({ name: z.string(), description: z.string(), path: z.string() })),
});

// ---- audit -------------------------------------------------------------------

export const auditEntrySchema = z.object({
  id: z.string(),
  at: epochMs,
  /** Who: account username, `token:<name>` for API tokens, `oidc:<subject>`. */
  actor: z.string(),
  role: z.string(),
  /** What: e.g. federation.create, user.federation, contact.revoke, deadletter.replay, account.create, token.create. */
  action: z.string(),
  /** What it was done to: a domain, user id, `user -> contact`, connector/job ids. */
  target: z.string(),
  /** JSON values, or null when there was nothing before / after. */
  before: z.unknown(),
  after: z.unknown(),
});
export type AuditEntry = z.infer<typeof auditEntrySchema>;

export const auditQuerySchema = pageQuerySchema.extend({
  actor: singleLine(256).optional(),
  action: singleLine(128).optional(),
  target: singleLine(512).optional(),
  /** ms since epoch, inclusive */
  since: z.coerce.number().int().nonnegative().optional(),
  /** ms since epoch, exclusive */
  until: z.coerce.number().int().nonnegative().optional(),
});

/** GET /audit */
export const auditListSchema = z.object({ total: z.number().int(), entries: z.array(auditEntrySchema) });
