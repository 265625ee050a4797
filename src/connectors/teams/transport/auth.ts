import { createPublicKey, type KeyObject } from 'node:crypto';
import https from 'node:https';
import http from 'node:http';
import { ConfidentialClientApplication } from '@azure/msal-node';
import { CloudAdapter, ConfigurationBotFrameworkAuthentication, type Activity, type InvokeResponse, type TurnContext } from 'botbuilder';
import {
  type AuthenticateRequestResult,
  BotFrameworkAuthentication,
  type ClaimsIdentity,
  type ConnectorClient,
  type ConnectorFactory,
  type UserTokenClient,
  MsalServiceClientCredentialsFactory,
  PasswordServiceClientCredentialFactory,
  type AppCredentials,
  type ServiceClientCredentialsFactory,
} from 'botframework-connector';
import { JwtTokenExtractor } from 'botframework-connector/lib/auth/jwtTokenExtractor.js';
import type { Logger } from 'pino';
import type { TeamsConfig } from '../../../config/teams-schema.ts';

const KEY_REFRESH_MS = 24 * 3600_000;
/** An unknown key id triggers a refresh at most this often (Microsoft rotates keys; attackers invent kids). */
const UNKNOWN_KID_REFRESH_MS = 5 * 60_000;
const FETCH_TIMEOUT_MS = 10_000;
const MAX_METADATA_BYTES = 512 * 1024;

function getJson(url: string, ca: string | undefined): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const secure = target.protocol === 'https:';
    const req = (secure ? https : http).get(target, { timeout: FETCH_TIMEOUT_MS, ...(secure && ca ? { ca } : {}) }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_METADATA_BYTES) req.destroy(new Error(`${url}: response too large`));
        else chunks.push(c);
      });
      res.on('end', () => {
        if (res.statusCode !== 200) return reject(new Error(`${url} answered ${res.statusCode}`));
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        } catch {
          reject(new Error(`${url}: not JSON`));
        }
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${url}: no answer within ${FETCH_TIMEOUT_MS} ms`)));
    req.on('error', reject);
  });
}

interface Jwk {
  kid?: string;
  kty?: string;
  n?: string;
  e?: string;
  endorsements?: string[];
}

/**
 * The channel's signing keys, fetched once and kept as parsed public keys.
 * Takes the place of botbuilder's OpenIdMetadata for the channel metadata URL:
 * that one rebuilds a PEM from the JWK (and jsonwebtoken re-parses it) on every
 * request, and cannot be given a CA.
 */
export class CachedOpenIdMetadata {
  private keys = new Map<string, { key: KeyObject; endorsements?: string[] }>();
  private fetchedAt = 0;
  private refreshing: Promise<void> | undefined;
  refreshes = 0;

  constructor(
    private readonly url: string,
    private readonly ca: string | undefined,
    private readonly log: Logger,
  ) {}

  /** The shape botbuilder's JwtTokenExtractor calls. */
  async getKey(kid: string): Promise<{ key: KeyObject; endorsements?: string[] } | null> {
    const now = Date.now();
    if (now - this.fetchedAt > KEY_REFRESH_MS || (!this.keys.has(kid) && now - this.fetchedAt > UNKNOWN_KID_REFRESH_MS)) {
      await this.refresh();
    }
    return this.keys.get(kid) ?? null;
  }

  refresh(): Promise<void> {
    this.refreshing ??= this.load().finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  private async load(): Promise<void> {
    try {
      const meta = (await getJson(this.url, this.ca)) as { jwks_uri?: unknown };
      if (typeof meta.jwks_uri !== 'string') throw new Error(`${this.url}: no jwks_uri`);
      const jwks = (await getJson(meta.jwks_uri, this.ca)) as { keys?: Jwk[] };
      const keys = new Map<string, { key: KeyObject; endorsements?: string[] }>();
      for (const k of jwks.keys ?? []) {
        if (!k.kid || k.kty !== 'RSA' || !k.n || !k.e) continue;
        const key = createPublicKey({ key: { kty: 'RSA', n: k.n, e: k.e }, format: 'jwk' });
        keys.set(k.kid, Array.isArray(k.endorsements) ? { key, endorsements: k.endorsements } : { key });
      }
      this.keys = keys;
      this.fetchedAt = Date.now();
      this.refreshes++;
    } catch (err) {
      // Keys already known stay in use; without any, requests fail (503) until a refresh works.
      this.fetchedAt = Date.now() - KEY_REFRESH_MS + UNKNOWN_KID_REFRESH_MS;
      this.log.error({ err, url: this.url }, 'could not load the Bot Framework signing keys');
      if (this.keys.size === 0) throw new Error(`could not load the Bot Framework signing keys from ${this.url}: ${(err as Error).message}`);
    }
  }
}

type MetadataCache = Map<string, unknown>;

function metadataCache(): MetadataCache | undefined {
  const cache = (JwtTokenExtractor as unknown as { openIdMetadataCache?: unknown }).openIdMetadataCache;
  return cache instanceof Map ? (cache as MetadataCache) : undefined;
}

const CLIENTS_MAX = 256;

function remember<T>(map: Map<string, T>, key: string, make: () => T): T {
  const hit = map.get(key);
  if (hit !== undefined) return hit;
  if (map.size >= CLIENTS_MAX) map.clear();
  const made = make();
  map.set(key, made);
  return made;
}

const appIdOf = (c: ClaimsIdentity): string => c.getClaimValue('aud') ?? c.getClaimValue('appid') ?? '';

/**
 * botbuilder's authentication, unchanged, except that the clients
 * CloudAdapter builds for every turn (a ConnectorClient and a
 * UserTokenClient, each with its own HTTP pipeline: the largest per-request
 * cost after token validation) are made once per app, service URL and
 * audience. Parley's turns do not call them (its sends go through
 * BotConnectorClient); they are stateless, so sharing them is safe.
 */
class ReusingBotFrameworkAuthentication extends BotFrameworkAuthentication {
  private readonly connectors = new Map<string, Promise<ConnectorClient>>();
  private readonly userTokens = new Map<string, Promise<UserTokenClient>>();

  constructor(private readonly inner: BotFrameworkAuthentication) {
    super();
  }

  private reusing(factory: ConnectorFactory, appId: string): ConnectorFactory {
    return {
      create: (serviceUrl: string, audience?: string) =>
        remember(this.connectors, `${appId}\n${serviceUrl}\n${audience ?? ''}`, () => {
          const made = factory.create(serviceUrl, audience);
          made.catch(() => this.connectors.clear());
          return made;
        }),
    };
  }

  async authenticateRequest(activity: Activity, authHeader: string): Promise<AuthenticateRequestResult> {
    const r = await this.inner.authenticateRequest(activity, authHeader);
    return r.connectorFactory ? { ...r, connectorFactory: this.reusing(r.connectorFactory, appIdOf(r.claimsIdentity)) } : r;
  }

  authenticateStreamingRequest(authHeader: string, channelIdHeader: string): Promise<AuthenticateRequestResult> {
    return this.inner.authenticateStreamingRequest(authHeader, channelIdHeader);
  }

  createConnectorFactory(claimsIdentity: ClaimsIdentity): ConnectorFactory {
    return this.reusing(this.inner.createConnectorFactory(claimsIdentity), appIdOf(claimsIdentity));
  }

  createUserTokenClient(claimsIdentity: ClaimsIdentity): Promise<UserTokenClient> {
    return remember(this.userTokens, appIdOf(claimsIdentity), () => {
      const made = this.inner.createUserTokenClient(claimsIdentity);
      made.catch(() => this.userTokens.clear());
      return made;
    });
  }

  override createBotFrameworkClient(): ReturnType<BotFrameworkAuthentication['createBotFrameworkClient']> {
    return this.inner.createBotFrameworkClient();
  }

  override getOriginatingAudience(): string {
    return this.inner.getOriginatingAudience();
  }

  override authenticateChannelRequest(authHeader: string): Promise<ClaimsIdentity> {
    return this.inner.authenticateChannelRequest(authHeader);
  }
}

const AUTH_CACHE_MAX = 1024;
const AUTH_CACHE_MAX_AGE_MS = 10 * 60_000;

/**
 * CloudAdapter with its (protected) processActivity opened up, and the result
 * of botbuilder's token validation remembered per (token, serviceUrl,
 * channel) until the token expires (at most 10 min): the Bot Connector sends
 * the same token with many activities, and validating it (decode, RS256
 * verify, claims) is most of the per-request cost. Only successful
 * validations are remembered; the checks themselves are botbuilder's.
 */
export class BotAdapter extends CloudAdapter {
  private readonly validated = new Map<string, { result: AuthenticateRequestResult; until: number }>();
  cacheHits = 0;

  async run(authHeader: string, activity: Activity, logic: (context: TurnContext) => Promise<void>): Promise<InvokeResponse | undefined> {
    return this.processActivity(await this.authenticate(authHeader, activity), activity, logic);
  }

  private async authenticate(authHeader: string, activity: Activity): Promise<AuthenticateRequestResult> {
    const key = authHeader ? `${activity.channelId ?? ''}\n${activity.serviceUrl ?? ''}\n${authHeader}` : undefined;
    const now = Date.now();
    const hit = key ? this.validated.get(key) : undefined;
    if (hit && hit.until > now) {
      this.cacheHits++;
      return hit.result;
    }
    const result = await this.botFrameworkAuthentication.authenticateRequest(activity, authHeader);
    const exp = Number(result.claimsIdentity.getClaimValue('exp'));
    if (key && result.claimsIdentity.isAuthenticated && Number.isFinite(exp) && exp > 0) {
      if (this.validated.size >= AUTH_CACHE_MAX) {
        for (const [k, v] of this.validated) if (v.until <= now || this.validated.size >= AUTH_CACHE_MAX) this.validated.delete(k);
      }
      this.validated.set(key, { result, until: Math.min(exp * 1000, now + AUTH_CACHE_MAX_AGE_MS) });
    }
    return result;
  }
}

export interface BotAuth {
  adapter: BotAdapter;
  metadata: CachedOpenIdMetadata;
  /** False in development mode without an app id: inbound tokens are not checked. */
  authEnabled: boolean;
  /** The bot's token for the Bot Connector (undefined when authentication is disabled). */
  token(forceRefresh?: boolean): Promise<string | undefined>;
  close(): void;
}

/**
 * botbuilder's CloudAdapter with ConfigurationBotFrameworkAuthentication, every
 * endpoint from the config, and the bot's own MSAL client (knownAuthorities
 * skips instance discovery, which needs Microsoft; MSAL refuses http authorities).
 */
export function createBotAuth(cfg: TeamsConfig, ca: string | undefined, log: Logger): BotAuth {
  const appId = cfg.appId ?? '';
  const authEnabled = appId !== '';
  let factory: ServiceClientCredentialsFactory;
  if (authEnabled) {
    const login = new URL(cfg.loginUrl);
    const cca = new ConfidentialClientApplication({
      auth: {
        clientId: appId,
        clientSecret: cfg.appPassword ?? '',
        authority: cfg.loginUrl,
        knownAuthorities: cfg.knownAuthorities.length > 0 ? cfg.knownAuthorities : [login.host],
      },
      system: ca ? { customAgentOptions: { ca } } : {},
    });
    // MSAL ships ESM and CJS builds with distinct (identical) types; botframework-connector takes the CJS one.
    factory = new MsalServiceClientCredentialsFactory(appId, cca as unknown as ConstructorParameters<typeof MsalServiceClientCredentialsFactory>[1]);
  } else {
    factory = new PasswordServiceClientCredentialFactory('', '');
  }
  const bfAuth = new ConfigurationBotFrameworkAuthentication(
    {
      MicrosoftAppId: appId,
      MicrosoftAppTenantId: cfg.appTenantId,
      ChannelService: cfg.channelService,
      ValidateAuthority: true,
      ToChannelFromBotLoginUrl: cfg.loginUrl,
      ToChannelFromBotOAuthScope: cfg.oauthScope,
      ToBotFromChannelTokenIssuer: cfg.tokenIssuer,
      ToBotFromChannelOpenIdMetadataUrl: cfg.openIdMetadataUrl,
      CallerId: cfg.channelService ? 'urn:botframework:azureusgov' : 'urn:botframework:azure',
    },
    factory,
    { requiredEndorsements: [], validTokenIssuers: cfg.extraTokenIssuers },
  );
  const metadata = new CachedOpenIdMetadata(cfg.openIdMetadataUrl, ca, log);
  const cache = metadataCache();
  if (cache) cache.set(cfg.openIdMetadataUrl, metadata);
  else log.warn('botbuilder internals changed: the signing keys are fetched by botbuilder itself (slower, and no custom CA)');
  let credentials: Promise<AppCredentials> | undefined;
  return {
    adapter: new BotAdapter(new ReusingBotFrameworkAuthentication(bfAuth)),
    metadata,
    authEnabled,
    async token(forceRefresh = false) {
      if (!authEnabled) return undefined;
      credentials ??= factory.createCredentials(appId, cfg.oauthScope, cfg.loginUrl, true) as Promise<AppCredentials>;
      return (await credentials).getToken(forceRefresh);
    },
    close() {
      if (cache?.get(cfg.openIdMetadataUrl) === metadata) cache.delete(cfg.openIdMetadataUrl);
    },
  };
}
