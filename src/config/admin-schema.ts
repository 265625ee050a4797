import { z } from 'zod';

const port = z.number().int().min(0).max(65535);
const minutes = z.number().int().min(1);

/** The admin listener (admin API, portal), its sign-in and the `parley admin` client. */
export const adminConfigSchema = z
  .object({
    enabled: z.boolean().default(true),
    /** Loopback by default: binding elsewhere is a deliberate choice (put TLS in front). */
    host: z.string().default('127.0.0.1'),
    port: port.default(3979),
    /**
     * Origins the admin API accepts in the Origin header, e.g.
     * `https://admin.example.org`. Empty: the origin of the Host the request was sent to.
     */
    origins: z.array(z.string().regex(/^https?:\/\/[^/\s]+$/, 'an origin: scheme://host[:port], no path')).default([]),
    /**
     * Addresses of reverse proxies in front of the admin listener. A request from
     * one of them is attributed to the last X-Forwarded-For address that is not a
     * proxy (sign-in throttling is per client address); from anyone else the
     * header is ignored.
     */
    trustedProxies: z.array(z.union([z.ipv4(), z.ipv6()])).default([]),
    session: z
      .object({
        ttlMinutes: minutes.default(8 * 60),
        idleMinutes: minutes.default(30),
      })
      .prefault({}),
    login: z
      .object({
        maxFailures: z.number().int().min(1).max(100).default(5),
        lockoutMinutes: minutes.default(15),
        /** Attempts per username and per client address per minute. */
        maxAttemptsPerMinute: z.number().int().min(1).max(10_000).default(10),
      })
      .prefault({}),
    /** Local username/password accounts (with TOTP for admins). */
    localLogin: z.boolean().default(true),
    oidc: z
      .object({
        /** Issuer URL; OpenID Connect is on when issuer and clientId are set. */
        issuer: z.string().regex(/^https?:\/\//).optional(),
        clientId: z.string().min(1).optional(),
        clientSecret: z.string().min(1).optional(),
        /** The admin listener's callback as registered at the provider: <origin>/admin/api/v1/auth/oidc/callback */
        redirectUri: z.string().regex(/^https?:\/\//).optional(),
        scopes: z.string().default('openid profile email'),
        groupsClaim: z.string().min(1).default('groups'),
        adminGroup: z.string().min(1).optional(),
        analystGroup: z.string().min(1).optional(),
        /** Button text on the sign-in page. */
        name: z.string().max(64).default('Single sign-on'),
        /** Allow an http:// issuer (local trials and tests only). */
        allowInsecure: z.boolean().default(false),
      })
      .prefault({}),
    /** Where `parley admin ...` finds a running Parley's admin API, and its API token. */
    client: z
      .object({
        url: z.string().regex(/^https?:\/\//).optional(),
        token: z.string().min(1).optional(),
      })
      .prefault({}),
  })
  .prefault({});

export type AdminConfig = z.infer<typeof adminConfigSchema>;
