import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { Registerer, RegistererState, UserAgent, UserAgentState, type LogLevel } from 'sip.js';
import type { Platform } from '../../core/address.ts';
import type { Connector, ConnectorStatus, DeliveryItem, DeliveryResult, HubPort } from '../../core/connector.ts';
import type { Envelope } from '../../core/envelope.ts';
import { errorInfo } from '../../core/errors.ts';
import { FastMessagePath } from './fast-message.ts';
import { grammarCached, installCachedGrammar } from './grammar.ts';
import { Inbound } from './inbound.ts';
import { deliverOne } from './outbound.ts';
import { SipPresenceBook } from './presence-book.ts';
import { Publications } from './presence.ts';
import { uri } from './requests.ts';
import { Watches } from './watches.ts';
import { WsTransport, type WsTransportOptions } from './ws-transport.ts';

export interface SipConnectorOptions {
  /** ws:// or wss:// URL of the edge's SIP-over-WebSocket listener. */
  edgeUrl: string;
  /** Parley's own domains (the Teams users' SIP domain first). */
  localDomains: readonly string[];
  /** The AOR Parley registers for all of them: the edge routes every local user to it. */
  gatewayUser: string;
  registerExpiresS: number;
  publishExpiresS: number;
  subscribeExpiresS: number;
  requestTimeoutMs: number;
  maxBodyBytes: number;
  maxFrameBytes: number;
  reconnectBaseMs: number;
  reconnectMaxMs: number;
  keepAliveMs: number;
  html: boolean;
  maxPublications: number;
  maxWatches: number;
  userAgent: string;
  /** Keeps publications and subscriptions across restarts; without it they live in memory only. */
  redis?: Redis;
  keyPrefix?: string;
}

export interface SipStats {
  inbound: Record<string, number>;
  reconnects: number;
  dropped: number;
  publications: number;
  watches: number;
  grammarCached: boolean;
  /** MESSAGEs answered by the fast path (fast-message.ts) rather than through sip.js. */
  fastPath: number;
}

/**
 * The SIP connector: one sip.js UserAgent over SIP-over-WebSocket to the edge
 * (Kamailio), registered as one gateway AOR for Parley's domains. MESSAGE <->
 * im/typing, PUBLISH of Parley users' presence, SUBSCRIBE/NOTIFY for
 * external contacts and contact requests. See docs/architecture.md.
 */
export class SipConnector implements Connector {
  readonly name = 'sip';
  readonly platforms: readonly Platform[] = ['sip'];
  private hub: HubPort | undefined;
  private ua: UserAgent | undefined;
  private registerer: Registerer | undefined;
  private state: ConnectorStatus = { state: 'stopped', since: Date.now() };
  private stopped = false;
  private attempt = 0;
  private timer: NodeJS.Timeout | undefined;
  private refresher: NodeJS.Timeout | undefined;
  private connecting: Promise<void> | undefined;
  private readonly localDomains: ReadonlySet<string>;
  private readonly publications: Publications;
  private readonly watches: Watches;
  private readonly inbound: Inbound;
  private readonly counts = new Map<string, number>();
  private reconnects = 0;
  private restored = false;
  private readonly book: SipPresenceBook | undefined;
  private dropped = 0;
  private readonly fast: FastMessagePath;
  private fastOn = true;
  private ruriUsers: readonly string[] = [];
  private responseHeaders: string | undefined;

  constructor(private readonly opts: SipConnectorOptions) {
    this.localDomains = new Set(opts.localDomains);
    const ua = (): UserAgent | undefined => (this.state.state === 'up' ? this.ua : undefined);
    const book = opts.redis ? new SipPresenceBook(opts.redis, opts.keyPrefix ?? 'parley') : undefined;
    this.book = book;
    const remember = (what: string, p: Promise<void> | undefined): void =>
      void p?.catch((err: unknown) => this.hub?.log.warn({ err }, `sip: could not store ${what} for restarts`));
    this.publications = new Publications(ua, { expiresS: opts.publishExpiresS, timeoutMs: opts.requestTimeoutMs, maxUsers: opts.maxPublications }, (userUri, show, status) =>
      remember('a publication', book?.savePublication(userUri, show, status)),
    );
    this.watches = new Watches(
      ua,
      {
        emit: (env) => this.emit(env),
        newId: () => `sip-${randomUUID()}`,
        log: (m, e) => this.hub?.log.debug(e ?? {}, m),
        saved: (w) => remember('a subscription', book?.saveWatch(w)),
        forgotten: (local, remote) => remember('a subscription', book?.deleteWatch(local, remote)),
      },
      { expiresS: opts.subscribeExpiresS, maxWatches: opts.maxWatches },
    );
    this.inbound = new Inbound(() => this.hub, { localDomains: this.localDomains, maxBodyBytes: opts.maxBodyBytes }, {
      count: (kind, status) => this.counts.set(`${kind}:${status}`, (this.counts.get(`${kind}:${status}`) ?? 0) + 1),
    });
    this.fast = new FastMessagePath({
      ruriUsers: () => this.ruriUsers,
      localDomains: this.localDomains,
      responseHeaders: () => {
        const ua = this.ua;
        if (!ua || ua.state !== UserAgentState.Started) return undefined;
        if (this.responseHeaders === undefined) {
          const c = ua.userAgentCore.configuration;
          const lines = `Supported: ${c.supportedOptionTagsResponse.join(', ')}\r\n${c.userAgentHeaderFieldValue ? `User-Agent: ${c.userAgentHeaderFieldValue}\r\n` : ''}`;
          this.responseHeaders = Buffer.from(lines, 'utf8').toString('latin1');
        }
        return this.responseHeaders;
      },
      send: (response) => (this.ua?.transport instanceof WsTransport ? this.ua.transport.sendBytes(response) : Promise.reject(new Error('no user agent'))),
      handle: (req, reply) => this.inbound.onIm(req, reply),
    });
  }

  /** Turns the fast path for plain MESSAGEs on or off (on by default; benchmarks compare both). */
  useFastPath(on: boolean): void {
    this.fastOn = on;
  }

  status(): ConnectorStatus {
    return this.state;
  }

  stats(): SipStats {
    return { inbound: Object.fromEntries(this.counts), reconnects: this.reconnects, dropped: this.dropped, publications: this.publications.size, watches: this.watches.size, grammarCached: grammarCached(), fastPath: this.fast.handled };
  }

  /** The same figures for /metrics (`parley_connector_events{connector="sip"}`). */
  counters(): Readonly<Record<string, number>> {
    const st = this.stats();
    const out: Record<string, number> = { reconnects: st.reconnects, dropped: st.dropped, publications: st.publications, watches: st.watches };
    out.fast_path = st.fastPath;
    for (const [k, v] of Object.entries(st.inbound)) out[`inbound_${k}`] = v;
    return out;
  }

  private setState(state: ConnectorStatus['state'], detail?: string): void {
    if (this.state.state === state && this.state.detail === detail) return;
    this.state = detail ? { state, since: Date.now(), detail } : { state, since: Date.now() };
    this.hub?.log.info({ connector: 'sip', state, detail }, 'sip connector state');
  }

  async start(hub: HubPort): Promise<void> {
    this.hub = hub;
    this.stopped = false;
    const grammar = installCachedGrammar();
    if (!grammar.ok) hub.log.warn({ reason: grammar.reason }, 'sip.js parser left as shipped (its tables are rebuilt per parse: several times slower)');
    this.setState('starting');
    this.ua = this.makeUserAgent();
    this.refresher = setInterval(() => void this.publications.refresh(false).catch(() => undefined), 30_000);
    this.refresher.unref();
    // Connecting happens in the background: Parley starts without its edge, and /readyz tells.
    this.schedule(0);
  }

  private makeUserAgent(): UserAgent {
    const o = this.opts;
    const transportOptions: WsTransportOptions = {
      server: o.edgeUrl,
      maxMessageBytes: o.maxFrameBytes,
      connectTimeoutMs: Math.min(o.requestTimeoutMs, 10_000),
      keepAliveMs: o.keepAliveMs,
      onDropped: () => this.dropped++,
      intercept: (message) => this.fastOn && this.fast.take(message),
    };
    const log = (level: LogLevel, category: string, _label: string | undefined, content: string): void => {
      if (level === 'error' || level === 'warn') this.hub?.log.debug({ category, sip: content.slice(0, 500) }, 'sip.js');
    };
    const ua = new UserAgent({
      uri: uri(`sip:${o.gatewayUser}@${o.localDomains[0] ?? 'parley.local'}`),
      transportConstructor: WsTransport,
      transportOptions,
      logBuiltinEnabled: false,
      logLevel: 'warn',
      logConnector: log,
      reconnectionAttempts: 0,
      userAgentString: o.userAgent,
      noAnswerTimeout: 60,
      delegate: {
        onMessage: (m) => this.inbound.onMessage(m),
        onNotify: (n) => this.inbound.onNotify(n),
        onSubscribeRequest: (r) => this.inbound.onSubscribe(r),
        onInvite: (inv) => void inv.reject({ statusCode: 488 }).catch(() => undefined),
        onDisconnect: (err) => this.onDisconnect(err),
      },
    });
    this.responseHeaders = undefined;
    const core = ua.userAgentCore.configuration;
    this.ruriUsers = [core.aor.user, core.contact.uri.user].filter((u): u is string => !!u);
    return ua;
  }

  private onDisconnect(err?: Error): void {
    if (this.stopped) return;
    this.setState('reconnecting', err?.message ?? 'edge connection closed');
    this.schedule(this.backoff());
  }

  private backoff(): number {
    const exp = Math.min(this.opts.reconnectMaxMs, this.opts.reconnectBaseMs * 2 ** Math.min(this.attempt, 16));
    this.attempt++;
    return Math.round(exp / 2 + (Math.random() * exp) / 2);
  }

  private schedule(delayMs: number): void {
    if (this.stopped || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.connecting ??= this.connect().finally(() => (this.connecting = undefined));
    }, delayMs);
    this.timer.unref();
  }

  /** Connects, registers the gateway AOR, and republishes presence the edge may have lost. */
  private async connect(): Promise<void> {
    const ua = this.ua;
    if (!ua || this.stopped) return;
    try {
      if (ua.state === 'Started') await ua.reconnect();
      else await ua.start();
      await this.register(ua);
      this.attempt = 0;
      if (this.state.state !== 'starting') this.reconnects++;
      this.setState('up');
      await this.publications.refresh(true);
      if (!this.restored) {
        this.restored = true;
        void this.restore();
      }
    } catch (err) {
      if (this.stopped) return;
      this.setState(this.state.state === 'starting' ? 'starting' : 'reconnecting', (err as Error).message);
      const t = ua.transport;
      if (t.isConnected()) await t.disconnect().catch(() => undefined);
      this.schedule(this.backoff());
    }
  }

  private register(ua: UserAgent): Promise<void> {
    this.registerer?.dispose().catch(() => undefined);
    const registerer = new Registerer(ua, { expires: this.opts.registerExpiresS, logConfiguration: false });
    this.registerer = registerer;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('REGISTER timed out')), this.opts.requestTimeoutMs);
      registerer.stateChange.addListener((s) => {
        if (s === RegistererState.Registered) {
          clearTimeout(timer);
          resolve();
        } else if (s === RegistererState.Unregistered && this.state.state === 'up' && !this.stopped) {
          // The edge dropped the registration: register again.
          this.setState('reconnecting', 'registration lost');
          void this.register(ua).then(() => this.setState('up'), () => this.schedule(this.backoff()));
        }
      });
      registerer
        .register({
          requestDelegate: {
            onReject: (res) => {
              clearTimeout(timer);
              reject(new Error(`REGISTER refused: ${res.message.statusCode} ${res.message.reasonPhrase}`));
            },
          },
        })
        .catch((err: unknown) => {
          clearTimeout(timer);
          reject(err instanceof Error ? err : new Error(String(err)));
        });
    });
  }

  /** Redoes, once per start, the publications and subscriptions of before a restart. */
  private async restore(): Promise<void> {
    if (!this.book) return;
    try {
      const { publications, watches } = await this.book.load();
      await this.publications.restore(publications);
      for (const w of watches) {
        if (this.stopped) return;
        if (!this.watches.has(w.local, w.remote)) await this.watches.subscribe(w.local, w.remote, w.localUri, w.remoteUri, false);
      }
      if (publications.length + watches.length > 0) this.hub?.log.info({ publications: publications.length, subscriptions: watches.length }, 'sip: presence restored after restart');
    } catch (err) {
      this.hub?.log.warn({ err }, 'sip: presence not restored');
    }
  }

  private emit(env: Envelope): void {
    const hub = this.hub;
    if (!hub) return;
    hub.ingest(env).then(
      (ack) => {
        if (ack.outcome === 'rejected') hub.log.warn({ id: env.id, error: ack.error }, 'sip: envelope refused by the hub');
      },
      (err: unknown) => hub.log.error({ err }, 'sip: ingest failed'),
    );
  }

  async deliver(items: readonly DeliveryItem[]): Promise<DeliveryResult[]> {
    const results: DeliveryResult[] = [];
    const deps = {
      ua: () => (this.state.state === 'up' ? this.ua : undefined),
      publications: this.publications,
      watches: this.watches,
      emit: (env: Envelope) => this.emit(env),
      newId: () => `sip-${randomUUID()}`,
      timeoutMs: this.opts.requestTimeoutMs,
      html: this.opts.html,
    };
    for (const item of items) {
      let r: DeliveryResult;
      try {
        r = await deliverOne(item.env, deps);
      } catch (err) {
        r = { ok: false, error: errorInfo(err) };
      }
      results.push(r);
      if (!r.ok) break;
    }
    return results;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.restored = false;
    if (this.timer) clearTimeout(this.timer);
    if (this.refresher) clearInterval(this.refresher);
    this.timer = undefined;
    this.watches.clear();
    const ua = this.ua;
    this.ua = undefined;
    if (ua) {
      await this.registerer?.unregister().catch(() => undefined);
      await ua.stop().catch(() => undefined);
    }
    this.opts.redis?.disconnect();
    this.setState('stopped');
  }
}
