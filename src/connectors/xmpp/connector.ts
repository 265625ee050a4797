import type { Element } from '@xmpp/xml';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { XmppConfig } from '../../config/xmpp-schema.ts';
import type { Platform } from '../../core/address.ts';
import type { Connector, ConnectorStatus, DeliveryItem, DeliveryResult, DeliverySequence, HubPort } from '../../core/connector.ts';
import type { Envelope } from '../../core/envelope.ts';
import { ParleyError, errorInfo } from '../../core/errors.ts';
import { parseJid, type Addressing } from './addressing.ts';
import { translateIq } from './inbound-iq.ts';
import { translateMessage } from './inbound-message.ts';
import { translatePresence } from './inbound-presence.ts';
import { ChatStateMemory, ComposingMemory } from './chat-states.ts';
import { ComponentLink } from './link.ts';
import { toFragment, toStanzas, type OutboundContext } from './outbound.ts';
import { PresenceCoalescer } from './presence-coalescer.ts';
import { ReturnPaths } from './return-paths.ts';
import { Rooms } from './rooms.ts';
import { WriteSequence } from './sequence.ts';
import { DomainRateLimit } from './rate-limit.ts';
import { conditionFor, errorReply, type ErrorType, type StanzaCondition } from './stanza-errors.ts';
import { XmppState } from './state.ts';
import xml from '@xmpp/xml';

/** Shared, never changed: per message only what differs is allocated. */
const NO_CONTEXT: OutboundContext = Object.freeze({});
const DELIVERED: DeliveryResult = Object.freeze({ ok: true });

export interface XmppConnectorOptions {
  config: XmppConfig;
  redis: Redis;
  keyPrefix: string;
  log?: Logger;
}

/** Rough serialised size of an element, without serialising it. */
function approxSize(el: Element | string, budget: number): number {
  if (typeof el === 'string') return el.length;
  let n = el.name.length * 2 + 5;
  const attrs = el.attrs;
  for (const k in attrs) n += k.length + String(attrs[k]).length + 4;
  for (const c of el.children) {
    if (n > budget) return n;
    n += approxSize(c, budget - n);
  }
  return n;
}

type Counter = 'stanzasIn' | 'stanzasOut' | 'deliverCalls' | 'overlappedCalls' | 'rejected' | 'rateLimited' | 'oversized' | 'presenceIn' | 'presenceForwarded' | 'probes';

/**
 * Parley on XMPP: a component of a standard XMPP server (which does TLS and
 * server-to-server federation). Internal users are `user@<domain>`; external
 * users are ordinary XMPP users anywhere.
 */
export class XmppConnector implements Connector {
  readonly name = 'xmpp';
  readonly platforms: readonly Platform[] = ['xmpp'];
  private readonly cfg: XmppConfig;
  private readonly addressing: Addressing;
  private readonly state: XmppState;
  private readonly limiter: DomainRateLimit;
  private readonly coalescer: PresenceCoalescer;
  private readonly returns = new ReturnPaths();
  private readonly chatStates = new ChatStateMemory(100_000);
  private readonly composing = new ComposingMemory(100_000);
  private pendingIngest: Array<{ stanza: Element; envs: Envelope[] }> = [];
  private ingestTimer: NodeJS.Immediate | undefined;
  private link: ComponentLink | undefined;
  private roomsLink: ComponentLink | undefined;
  private rooms: Rooms | undefined;
  private hub: HubPort | undefined;
  private log: Logger | undefined;
  private readonly counts: Record<Counter, number> = {
    stanzasIn: 0, stanzasOut: 0, deliverCalls: 0, overlappedCalls: 0, rejected: 0, rateLimited: 0, oversized: 0, presenceIn: 0, presenceForwarded: 0, probes: 0,
  };

  constructor(private readonly opts: XmppConnectorOptions) {
    this.cfg = opts.config;
    this.addressing = { domain: this.cfg.domain, localPlatform: this.cfg.localPlatform };
    this.state = new XmppState(opts.redis, opts.keyPrefix);
    this.limiter = new DomainRateLimit(this.cfg.messagesPerSecondPerDomain, this.cfg.burstPerDomain);
    this.coalescer = new PresenceCoalescer(this.cfg.presenceCoalesceMs, this.cfg.maxPresencePairs, (envs) => this.forwardPresence(envs));
  }

  async start(hub: HubPort): Promise<void> {
    this.hub = hub;
    const log = (this.log = this.opts.log ?? hub.log.child({ connector: 'xmpp' }));
    const linkFor = (domain: string, secret: string, onStanza: (el: Element) => void): ComponentLink =>
      new ComponentLink({
        service: this.cfg.service,
        domain,
        secret,
        ...(this.cfg.barrierDomain ? { barrierDomain: this.cfg.barrierDomain } : {}),
        maxPendingBytes: this.cfg.maxPendingBytes,
        reconnectMinMs: this.cfg.reconnectMinMs,
        reconnectMaxMs: this.cfg.reconnectMaxMs,
        connectTimeoutMs: this.cfg.connectTimeoutMs,
        log,
        onStanza,
      });
    this.link = linkFor(this.cfg.domain, this.cfg.secret ?? '', (el) => this.onStanza(el));
    await this.link.start();
    if (this.cfg.roomsDomain) {
      const roomsLink = linkFor(this.cfg.roomsDomain, this.cfg.roomsSecret ?? '', (el) => this.onRoomStanza(el));
      this.roomsLink = roomsLink;
      this.rooms = new Rooms({
        domain: this.cfg.roomsDomain,
        localPlatform: this.cfg.localPlatform,
        name: this.cfg.name,
        redis: this.opts.redis,
        keyPrefix: this.opts.keyPrefix,
        send: (fragment) => roomsLink.write(fragment),
        submit: (stanza, envs) => this.submit(stanza, envs),
      });
      await roomsLink.start();
    }
  }

  private onRoomStanza(el: Element): void {
    this.counts.stanzasIn++;
    if (approxSize(el, this.cfg.maxStanzaBytes + 1) > this.cfg.maxStanzaBytes) {
      this.counts.oversized++;
      this.reject(el, 'policy-violation', 'modify', `stanza larger than ${this.cfg.maxStanzaBytes} bytes`);
      return;
    }
    if (el.name !== 'presence' && el.attrs.type !== 'error' && this.limited(el)) return;
    this.rooms?.onStanza(el, Date.now());
  }

  async stop(): Promise<void> {
    if (this.ingestTimer) {
      clearImmediate(this.ingestTimer);
      this.flushIngest();
    }
    this.coalescer.stop();
    await Promise.all([this.link?.stop(), this.roomsLink?.stop()]);
    this.opts.redis.disconnect();
  }

  /** Up only when every stream is up; otherwise the first one that is not. */
  status(): ConnectorStatus {
    const links = [this.link, this.roomsLink].filter((l): l is ComponentLink => l !== undefined);
    if (links.length === 0) return { state: 'stopped', since: Date.now() };
    return links.find((l) => l.status().state !== 'up')?.status() ?? links[0]!.status();
  }

  counters(): Readonly<Record<string, number>> {
    const l = this.link?.counters;
    const w = this.link?.windowStats();
    return {
      ...this.counts, parseErrors: l?.parseErrors ?? 0, streamsTooLarge: l?.oversized ?? 0, reconnects: l?.reconnects ?? 0, presencePairs: this.coalescer.size,
      writesConfirmed: l?.confirmed ?? 0, confirmWaitMs: Math.round(l?.confirmWaitMs ?? 0),
      pongWaitMs: Math.round(w?.pongWaitMs ?? 0), roomWaitMs: Math.round(w?.roomWaitMs ?? 0), windowEmptyMs: Math.round(w?.emptyMs ?? 0),
      windowFullMs: Math.round(w?.fullMs ?? 0), windowByteMs: Math.round(w?.byteMs ?? 0),
    };
  }

  /** Resolves when the component stream is up (tests, readiness). */
  waitOnline(ms: number): Promise<void> {
    if (!this.link) return Promise.reject(new Error('xmpp connector not started'));
    return Promise.all([this.link.waitOnline(ms), this.roomsLink?.waitOnline(ms)]).then(() => undefined);
  }

  /** A chat's deliveries may overlap: each waits for the writes of the ones before it, not for their confirmation. */
  sequence(): WriteSequence {
    return new WriteSequence();
  }

  deliver(items: readonly DeliveryItem[], seq?: DeliverySequence): Promise<DeliveryResult[]> {
    if (!(seq instanceof WriteSequence)) return this.deliverNow(items);
    const domain = this.rooms ? this.cfg.roomsDomain : undefined;
    const rooms = domain !== undefined && items.some((i) => i.env.to.domain === domain || i.env.from.domain === domain);
    if (seq.inFlight > 0) this.counts.overlappedCalls++;
    return seq.run(rooms, (wrote) => this.deliverNow(items, seq, wrote));
  }

  private async deliverNow(items: readonly DeliveryItem[], seq?: WriteSequence, wrote?: () => void): Promise<DeliveryResult[]> {
    const link = this.link;
    if (!link) return [{ ok: false, error: new ParleyError('DELIVERY_UNAVAILABLE', 'connector not started').toInfo() }];
    try {
      if (!link.online) await link.waitOnline(this.cfg.offlineWaitMs);
      let fragment = '';
      const presence: Array<readonly [string, string, string]> = [];
      const roomItems: Array<{ env: Envelope; stanzas: Element[] }> = [];
      for (const item of items) {
        const env = item.env;
        if (this.rooms && env.to.domain === this.cfg.roomsDomain) {
          roomItems.push({ env, stanzas: toStanzas(env) });
          continue;
        }
        if (this.rooms && env.from.domain === this.cfg.roomsDomain) {
          // An answer from a room (an error for a refused groupchat message) comes from the room's JID.
          const replyTo = env.type === 'error' ? this.returns.lookup(env.target) : undefined;
          const roomJid = this.rooms.roomJid(env.from.id);
          const out = toStanzas(env, replyTo ? { replyTo } : {}).map((el) => ((el.attrs.from = roomJid), el.toString()));
          await this.roomsLink?.write(out.join(''));
          continue;
        }
        const reactions = env.type === 'reaction' ? await this.state.changeReaction(env.from.id, env.target, env.emoji, env.action) : undefined;
        const roomJid = env.type === 'invite' && this.rooms ? await this.rooms.admit(env.room.id, env.room.name, env.to.id) : undefined;
        const replyTo = env.type === 'error' ? this.returns.lookup(env.target) : env.type === 'profile-response' ? this.returns.lookup(env.replyTo) : undefined;
        if (env.type === 'typing') this.chatStates.stateSent(env.from.id, env.to.id, env.state);
        const active = env.type === 'im' && !replyTo ? this.chatStates.announceActive(env.from.id, env.to.id) : undefined;
        const plain = !reactions && !replyTo && !roomJid && active !== false;
        fragment += toFragment(env, plain ? NO_CONTEXT : { ...(reactions ? { reactions } : {}), ...(replyTo ? { replyTo } : {}), ...(roomJid ? { roomJid } : {}), ...(active === false ? { active } : {}) });
        if (env.type === 'presence') presence.push([env.from.id, env.to.id, JSON.stringify({ show: env.show, status: env.status })]);
      }
      if (this.rooms && roomItems.length > 0) {
        // A room's messages go out on the rooms stream, one copy per occupant.
        if (!this.roomsLink?.online) await this.roomsLink?.waitOnline(this.cfg.offlineWaitMs);
        await this.rooms.deliver(roomItems);
      }
      if (seq && fragment) {
        seq.stream ??= link.stream;
        if (seq.stream !== link.stream) throw new ParleyError('DELIVERY_UNAVAILABLE', "XMPP stream replaced under the chat's earlier deliveries");
      }
      const writing = fragment ? link.write(fragment) : undefined;
      wrote?.();
      // Not kept while the server's confirmation is awaited (see ComponentLink.write).
      fragment = '';
      await Promise.all([this.state.storePresence(presence), writing]);
      this.counts.stanzasOut += items.length;
      this.counts.deliverCalls++;
      return items.map(() => DELIVERED);
    } catch (err) {
      // What this batch told peers of chat states may not have arrived.
      this.chatStates.forget();
      return [{ ok: false, error: errorInfo(err) }];
    }
  }

  private get port(): HubPort {
    if (!this.hub) throw new Error('xmpp connector not started');
    return this.hub;
  }

  private send(el: Element, link = this.link): void {
    link?.send(el).catch((err: Error) => this.log?.debug({ err: err.message }, 'XMPP reply not sent'));
  }

  /** Answers go out on the stream of the domain the stanza was addressed to. */
  private linkFor(stanza: Element): ComponentLink | undefined {
    return this.roomsLink && parseJid(stanza.attrs.to)?.domain === this.cfg.roomsDomain ? this.roomsLink : this.link;
  }

  private reject(stanza: Element, condition: StanzaCondition, type: ErrorType, text?: string): void {
    this.counts.rejected++;
    // Never answer an error with an error (RFC 6120 8.3.1).
    if (stanza.attrs.type === 'error') return;
    this.send(errorReply(stanza, condition, type, text), this.linkFor(stanza));
  }

  private onStanza(el: Element): void {
    this.counts.stanzasIn++;
    if (approxSize(el, this.cfg.maxStanzaBytes + 1) > this.cfg.maxStanzaBytes) {
      this.counts.oversized++;
      this.log?.warn({ from: el.attrs.from, name: el.name, limit: this.cfg.maxStanzaBytes }, 'XMPP stanza over the size limit refused');
      this.reject(el, 'policy-violation', 'modify', `stanza larger than ${this.cfg.maxStanzaBytes} bytes`);
      return;
    }
    const now = Date.now();
    if (el.name === 'message') this.onMessage(el, now);
    else if (el.name === 'presence') this.onPresence(el, now);
    else if (el.name === 'iq') this.onIq(el, now);
  }

  private limited(el: Element): boolean {
    const domain = parseJid(el.attrs.from)?.domain;
    if (!domain || this.limiter.take(domain)) return false;
    this.counts.rateLimited++;
    this.reject(el, 'resource-constraint', 'wait', `too many stanzas from ${domain}; slow down`);
    return true;
  }

  private onMessage(el: Element, now: number): void {
    const out = translateMessage(el, this.addressing, now);
    if (out.kind === 'ignore') return void this.log?.debug({ reason: out.reason }, 'XMPP message ignored');
    if (out.kind === 'reject') return this.reject(el, out.condition, out.type, out.text);
    if (el.attrs.type !== 'error' && this.limited(el)) return;
    if (out.kind === 'envelopes') {
      const envs = out.envs.filter((e) => this.changesSomething(e));
      if (envs.length === 0) return void this.log?.debug('XMPP chat state changes nothing: not passed on');
      return this.submit(el, envs);
    }
    void this.reactions(el, out.base, out.target, out.emojis);
  }

  private changesSomething(env: Envelope): boolean {
    if (env.type === 'typing') return this.composing.stateChanges(env.from.id, env.to.id, env.state);
    if (env.type === 'im' || env.type === 'file') this.composing.messageSent(env.from.id, env.to.id);
    return true;
  }

  private async reactions(el: Element, base: Pick<Envelope, 'id' | 'ts' | 'from' | 'to'>, target: string, emojis: string[]): Promise<void> {
    try {
      const sender = base.from.id;
      const old = new Set(await this.state.swapReactions(sender, target, emojis));
      const now = new Set(emojis);
      const envs: Envelope[] = [];
      for (const e of now) if (!old.has(e)) envs.push({ ...base, id: `${base.id}+${e}`, type: 'reaction', target, emoji: e, action: 'add' });
      for (const e of old) if (!now.has(e)) envs.push({ ...base, id: `${base.id}-${e}`, type: 'reaction', target, emoji: e, action: 'remove' });
      if (envs.length) this.submit(el, envs);
    } catch (err) {
      this.log?.error({ err }, 'XMPP reactions not processed');
      this.reject(el, 'internal-server-error', 'wait');
    }
  }

  /**
   * Hands envelopes to the hub, batched per event-loop turn (one ingestMany
   * for every stanza that arrived in the same read); a refusal goes back to
   * the sender as a stanza error.
   */
  private submit(stanza: Element, envs: Envelope[]): void {
    for (const env of envs) this.returns.remember(env.id, stanza.attrs.from);
    this.pendingIngest.push({ stanza, envs });
    this.ingestTimer ??= setImmediate(() => this.flushIngest());
  }

  private flushIngest(): void {
    this.ingestTimer = undefined;
    const batch = this.pendingIngest;
    this.pendingIngest = [];
    const envs = batch.flatMap((b) => b.envs);
    this.port.ingestMany(envs).then(
      (acks) => {
        let i = 0;
        for (const { stanza, envs: mine } of batch) {
          const own = acks.slice(i, i + mine.length);
          i += mine.length;
          // Blocked traffic gets its error as an envelope through delivery; refusals are answered here.
          const bad = own.find((a) => a.outcome === 'rejected');
          if (bad?.error) {
            const [condition, type] = conditionFor(bad.error.code);
            this.reject(stanza, condition, type, bad.error.message);
          }
        }
      },
      (err: unknown) => {
        this.log?.error({ err }, 'XMPP stanzas not ingested');
        for (const { stanza } of batch) this.reject(stanza, 'internal-server-error', 'wait');
      },
    );
  }

  private onPresence(el: Element, now: number): void {
    const out = translatePresence(el, this.addressing, now);
    switch (out.kind) {
      case 'ignore':
        return;
      case 'presence':
        this.counts.presenceIn++;
        return this.coalescer.offer(out.env, out.resource);
      case 'contact':
        if (this.limited(el)) return;
        return this.submit(el, [out.env]);
      case 'probe':
        this.counts.probes++;
        void this.answerProbe(out.from, out.to);
    }
  }

  private async answerProbe(prober: string, user: string): Promise<void> {
    try {
      const stored = await this.state.presence(user, prober);
      const p = stored ? (JSON.parse(stored) as { show?: string; status?: string }) : undefined;
      const attrs: Record<string, string> = { from: user, to: prober };
      if (!p || p.show === 'offline') attrs.type = 'unavailable';
      const show = p?.show && ['away', 'xa', 'dnd'].includes(p.show) ? p.show : undefined;
      this.send(xml('presence', attrs, show ? xml('show', {}, show) : null, p?.status ? xml('status', {}, p.status) : null));
    } catch (err) {
      this.log?.warn({ err }, 'XMPP probe not answered');
    }
  }

  private forwardPresence(envs: Envelope[]): void {
    this.counts.presenceForwarded += envs.length;
    this.port.ingestMany(envs).catch((err: unknown) => this.log?.warn({ err }, 'XMPP presence not forwarded'));
  }

  private onIq(el: Element, now: number): void {
    const out = translateIq(el, { ...this.addressing, name: this.cfg.name, ...(this.cfg.roomsDomain ? { roomsDomain: this.cfg.roomsDomain } : {}) }, now);
    if (out.kind === 'ignore') return;
    if (out.kind === 'reply') return this.send(out.el);
    if (el.attrs.type === 'get' && this.limited(el)) return;
    this.submit(out.stanza, [out.env]);
  }
}
