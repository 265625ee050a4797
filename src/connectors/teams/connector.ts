import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { TeamsConfig } from '../../config/teams-schema.ts';
import type { Platform } from '../../core/address.ts';
import type { Connector, ConnectorStatus, DeliveryItem, DeliveryResult, HubPort } from '../../core/connector.ts';
import { ConfigError } from '../../core/errors.ts';
import type { TeamsExperience } from './contract.ts';
import { ServiceUrlAllowlist } from './transport/allowlist.ts';
import { createBotAuth, type BotAuth } from './transport/auth.ts';
import { BotConnectorClient } from './transport/bot-connector-client.ts';
import { newCounters } from './transport/counters.ts';
import { TeamsIngress } from './transport/ingress.ts';
import { TeamsOutbound } from './transport/outbound.ts';
import { Pacer } from './transport/pacing.ts';
import { TeamsTransportStore } from './transport/store.ts';

export interface TeamsConnectorOptions {
  config: TeamsConfig;
  /** The top-level developmentMode: allows running without credentials and loopback serviceUrls. */
  developmentMode: boolean;
  redis: Redis;
  keyPrefix: string;
  experience: TeamsExperience;
  log?: Logger;
}

const MAX_ACTIVITY_BYTES = 256 * 1024;
const CREDENTIAL_RECHECK_MS = 30_000;

/**
 * Microsoft Teams through a Bot Framework bot: the transport (auth,
 * /api/messages, conversation references, paced proactive sends) around a
 * TeamsExperience that knows what the activities mean.
 */
export class TeamsConnector implements Connector {
  readonly name = 'teams';
  readonly platforms: readonly Platform[] = ['teams'];
  private readonly cfg: TeamsConfig;
  private readonly counts = newCounters();
  private readonly store: TeamsTransportStore;
  private readonly allowlist: ServiceUrlAllowlist;
  private readonly pacer: Pacer;
  private auth: BotAuth | undefined;
  private client: BotConnectorClient | undefined;
  private outbound: TeamsOutbound | undefined;
  private state: ConnectorStatus = { state: 'stopped', since: Date.now() };
  private recheck: NodeJS.Timeout | undefined;
  private log: Logger | undefined;

  /** Throws unless the config may run: credentials, or development mode. */
  static checkConfig(cfg: TeamsConfig, developmentMode: boolean): void {
    if ((!cfg.appId || !cfg.appPassword) && !developmentMode) {
      throw new ConfigError(
        'connectors.teams.appId',
        'the Teams connector needs appId and appPassword (MICROSOFT_APP_ID / MICROSOFT_APP_PASSWORD); without them botbuilder accepts unauthenticated requests, so this is allowed only with developmentMode on',
      );
    }
  }

  constructor(private readonly opts: TeamsConnectorOptions) {
    this.cfg = opts.config;
    TeamsConnector.checkConfig(this.cfg, opts.developmentMode);
    this.store = new TeamsTransportStore(opts.redis, opts.keyPrefix);
    this.allowlist = new ServiceUrlAllowlist(this.cfg.serviceUrlHosts, opts.developmentMode);
    this.pacer = new Pacer(1000 / this.cfg.perConversationPerSecond, 1000 / this.cfg.perTenantPerSecond, this.cfg.maxPacingWaitMs);
  }

  async start(hub: HubPort): Promise<void> {
    const log = (this.log = this.opts.log ?? hub.log.child({ connector: 'teams' }));
    this.state = { state: 'starting', since: Date.now() };
    let ca: string | undefined;
    if (this.cfg.caFile) {
      try {
        ca = readFileSync(this.cfg.caFile, 'utf8');
      } catch (err) {
        throw new ConfigError('connectors.teams.caFile', `cannot read ${this.cfg.caFile}: ${(err as Error).message}`);
      }
    }
    const auth = (this.auth = createBotAuth(this.cfg, ca, log));
    if (this.opts.developmentMode) {
      log.warn(
        { authentication: auth.authEnabled ? 'on' : 'OFF' },
        auth.authEnabled
          ? 'DEVELOPMENT MODE: Teams connector accepts loopback serviceUrls over http'
          : 'DEVELOPMENT MODE: Teams connector runs WITHOUT AUTHENTICATION - anyone who can reach /api/messages can act as any Teams user. Never expose this.',
      );
    }
    const client = (this.client = new BotConnectorClient({
      allowlist: this.allowlist,
      token: () => auth.token(),
      ...(ca ? { ca } : {}),
      timeoutMs: this.cfg.requestTimeoutMs,
    }));
    const common = { cfg: this.cfg, experience: this.opts.experience, store: this.store, client, allowlist: this.allowlist, pacer: this.pacer, counts: this.counts, log };
    const ingress = new TeamsIngress({ ...common, auth, hub });
    this.outbound = new TeamsOutbound({ ...common, hub });
    hub.route({ method: 'POST', path: this.cfg.path, maxBodyBytes: MAX_ACTIVITY_BYTES, handler: (req) => ingress.handle(req) });
    for (const r of this.opts.experience.routes()) hub.route({ method: r.method, path: r.path, maxBodyBytes: 0, handler: r.handler });
    if (!auth.authEnabled) this.state = { state: 'up', since: Date.now(), detail: 'development mode: authentication disabled' };
    else await this.checkCredentials();
    // Signing keys are loaded now, so the first activity does not pay for it (a failure is retried on use).
    if (auth.authEnabled) await auth.metadata.refresh().catch(() => undefined);
  }

  /** Up once the bot gets a token for the Bot Connector; down (and rechecked) while it cannot. */
  private async checkCredentials(): Promise<void> {
    try {
      await this.auth?.token(true);
      this.state = { state: 'up', since: Date.now() };
    } catch (err) {
      const detail = `cannot get a Bot Connector token from ${this.cfg.loginUrl}: ${(err as Error).message}`;
      if (this.state.state !== 'down') this.state = { state: 'down', since: Date.now(), detail };
      this.log?.error({ err }, 'Teams credentials do not work (yet)');
      this.recheck = setTimeout(() => void this.checkCredentials(), CREDENTIAL_RECHECK_MS);
      this.recheck.unref();
    }
  }

  /** Also closes the Redis connection it was given: the connector owns it. */
  async stop(): Promise<void> {
    clearTimeout(this.recheck);
    this.client?.close();
    this.auth?.close();
    this.opts.redis.disconnect();
    this.state = { state: 'stopped', since: Date.now() };
  }

  status(): ConnectorStatus {
    return this.state;
  }

  counters(): Readonly<Record<string, number>> {
    return { ...this.counts, connectorCalls: this.client?.calls ?? 0, signingKeyLoads: this.auth?.metadata.refreshes ?? 0, tokenValidationsReused: this.auth?.adapter.cacheHits ?? 0 };
  }

  async deliver(items: readonly DeliveryItem[]): Promise<DeliveryResult[]> {
    if (!this.outbound) throw new Error('teams connector not started');
    return this.outbound.deliver(items);
  }
}
