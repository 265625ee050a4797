import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import * as client from 'openid-client';
import type { AdminConfig } from '../config/admin-schema.ts';
import type { Role } from './schemas.ts';

export interface OidcIdentity {
  subject: string;
  username: string;
  name?: string;
  role: Role;
}

export class OidcRefused extends Error {
  override readonly name = 'OidcRefused';
}

interface Pending {
  state: string;
  nonce: string;
  verifier: string;
}

const PENDING_TTL_S = 600;

/**
 * OpenID Connect sign-in: authorization code with PKCE (S256), state and
 * nonce. The pending checks sit in Redis under a random id carried by a
 * short-lived cookie. The role comes from the group claim (ID token, then
 * userinfo): the admin group wins over the analyst group; neither is refused.
 */
export class OidcLogin {
  private discovered: Promise<client.Configuration> | undefined;

  constructor(
    private readonly cfg: AdminConfig['oidc'] & { issuer: string; clientId: string; redirectUri: string },
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  static from(cfg: AdminConfig['oidc'], redis: Redis, prefix: string): OidcLogin | undefined {
    if (!cfg.issuer || !cfg.clientId) return undefined;
    if (!cfg.redirectUri) throw new Error('admin.oidc.redirectUri is required when admin.oidc.issuer is set');
    if (!cfg.adminGroup && !cfg.analystGroup) throw new Error('admin.oidc needs adminGroup or analystGroup');
    return new OidcLogin({ ...cfg, issuer: cfg.issuer, clientId: cfg.clientId, redirectUri: cfg.redirectUri }, redis, prefix);
  }

  get name(): string {
    return this.cfg.name;
  }

  private configuration(): Promise<client.Configuration> {
    this.discovered ??= client
      .discovery(
        new URL(this.cfg.issuer),
        this.cfg.clientId,
        this.cfg.clientSecret ? undefined : { token_endpoint_auth_method: 'none' },
        this.cfg.clientSecret ? client.ClientSecretPost(this.cfg.clientSecret) : client.None(),
        this.cfg.allowInsecure ? { execute: [client.allowInsecureRequests], timeout: 10 } : { timeout: 10 },
      )
      .catch((err: unknown) => {
        this.discovered = undefined;
        throw err;
      });
    return this.discovered;
  }

  /** The provider URL to send the browser to, and the id for the pending-state cookie. */
  async start(): Promise<{ url: string; pendingId: string }> {
    const config = await this.configuration();
    const pending: Pending = { state: client.randomState(), nonce: client.randomNonce(), verifier: client.randomPKCECodeVerifier() };
    const pendingId = randomBytes(24).toString('base64url');
    await this.redis.set(this.key(pendingId), JSON.stringify(pending), 'EX', PENDING_TTL_S);
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: this.cfg.redirectUri,
      scope: this.cfg.scopes,
      code_challenge: await client.calculatePKCECodeChallenge(pending.verifier),
      code_challenge_method: 'S256',
      state: pending.state,
      nonce: pending.nonce,
    });
    return { url: url.href, pendingId };
  }

  /** Completes the code flow for the callback's query; the pending state is single-use. */
  async finish(pendingId: string, query: string): Promise<OidcIdentity> {
    const raw = await this.redis.getdel(this.key(pendingId));
    if (!raw) throw new OidcRefused('sign-in expired or was already used; start again');
    const pending = JSON.parse(raw) as Pending;
    const config = await this.configuration();
    const current = new URL(this.cfg.redirectUri);
    current.search = query;
    const tokens = await client.authorizationCodeGrant(config, current, {
      pkceCodeVerifier: pending.verifier,
      expectedState: pending.state,
      expectedNonce: pending.nonce,
      idTokenExpected: true,
    });
    const idClaims = tokens.claims();
    if (!idClaims) throw new OidcRefused('the provider returned no ID token');
    let claims: Record<string, unknown> = { ...idClaims };
    if (claims[this.cfg.groupsClaim] === undefined && config.serverMetadata().userinfo_endpoint) {
      const info = await client.fetchUserInfo(config, tokens.access_token, idClaims.sub);
      claims = { ...info, ...claims };
    }
    const role = this.roleOf(claims[this.cfg.groupsClaim]);
    if (!role) throw new OidcRefused('your account is in neither the admin nor the analyst group');
    const str = (v: unknown): string | undefined => (typeof v === 'string' && v.length > 0 ? v.slice(0, 256) : undefined);
    const username = str(claims.preferred_username) ?? str(claims.email) ?? idClaims.sub;
    const name = str(claims.name);
    return { subject: idClaims.sub, username, role, ...(name ? { name } : {}) };
  }

  private roleOf(groups: unknown): Role | undefined {
    const list = Array.isArray(groups) ? groups.filter((g): g is string => typeof g === 'string') : typeof groups === 'string' ? [groups] : [];
    if (this.cfg.adminGroup && list.includes(this.cfg.adminGroup)) return 'admin';
    if (this.cfg.analystGroup && list.includes(this.cfg.analystGroup)) return 'analyst';
    return undefined;
  }

  private key(id: string): string {
    return `${this.prefix}:admin:oidc:${id}`;
  }
}
