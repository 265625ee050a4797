import { StringDecoder } from 'node:string_decoder';
import { Component } from '@xmpp/component-core';
import xml, { type Element } from '@xmpp/xml';
import type { Logger } from 'pino';
import type { ConnectorStatus } from '../../core/connector.ts';
import { ParleyError } from '../../core/errors.ts';
import { NS } from './ns.ts';
import { WriteWindow, type WindowStats } from './write-window.ts';

export interface LinkOptions {
  /** xmpp://host:port of the server's component listener. */
  service: string;
  domain: string;
  secret: string;
  /**
   * A domain the server itself answers pings for. A pong proves the server
   * processed everything written before the ping; without it a write counts
   * once it has left for the socket.
   */
  barrierDomain?: string;
  /**
   * Bytes written and not yet confirmed by a pong, at most (a write bigger
   * than this still goes alone): enough to keep the server busy between
   * deliveries, little enough that its backlog, and the time a write waits
   * for its pong, stay short. Default 1 MiB.
   */
  windowBytes?: number;
  /** Bytes without a complete stanza before the stream is dropped. */
  maxPendingBytes: number;
  reconnectMinMs: number;
  reconnectMaxMs: number;
  /** How long an open+handshake may take. */
  connectTimeoutMs: number;
  log: Logger;
  onStanza(el: Element): void;
  onStatus?(status: ConnectorStatus): void;
}

type Waiter = { resolve(): void; reject(err: Error): void };

/**
 * One XEP-0114 component stream (xmpp.js's Component), made safe for hostile
 * input: bytes are decoded with a streaming UTF-8 decoder (a character split
 * across TCP reads stays whole), a parser error (an unknown entity, bad XML)
 * ends the stream with a stream error instead of throwing out of the socket
 * handler, and an endless stanza is cut off. Reconnects with backoff forever.
 */
export class ComponentLink {
  private entity: Component | undefined;
  private state: ConnectorStatus = { state: 'stopped', since: Date.now() };
  private stopped = true;
  private attempt = 0;
  private timer: NodeJS.Timeout | undefined;
  private onlineWaiters: Waiter[] = [];
  private pingSeq = 0;
  private streams = 0;
  private readonly window: WriteWindow;
  private readonly pings = new Map<string, Waiter>();
  /** Counters for metrics: parse errors, oversize streams, reconnects; writes the server confirmed and the time they waited for it. */
  readonly counters = { parseErrors: 0, oversized: 0, reconnects: 0, confirmed: 0, confirmWaitMs: 0 };

  constructor(private readonly opts: LinkOptions) {
    this.window = new WriteWindow(opts.windowBytes ?? 1 << 20);
  }

  status(): ConnectorStatus {
    return this.state;
  }

  get online(): boolean {
    return this.state.state === 'up';
  }

  /** Which stream is up: it changes with every reconnect (writes on different streams are not ordered). */
  get stream(): number {
    return this.streams;
  }

  async start(): Promise<void> {
    this.stopped = false;
    this.setState('starting');
    this.connectNow();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    const e = this.entity;
    this.entity = undefined;
    this.failWaiters(new ParleyError('SHUTTING_DOWN'));
    if (e) {
      e.removeAllListeners();
      e.on('error', () => undefined);
      await Promise.race([e.stop().catch(() => undefined), new Promise((r) => setTimeout(r, 1000))]);
      e.socket?.destroy();
    }
    this.setState('stopped');
  }

  /** Resolves when the stream is up; rejects after `ms`. */
  waitOnline(ms: number): Promise<void> {
    if (this.online) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const w: Waiter = { resolve: () => (clearTimeout(t), resolve()), reject: (e) => (clearTimeout(t), reject(e)) };
      const t = setTimeout(() => {
        this.onlineWaiters = this.onlineWaiters.filter((x) => x !== w);
        reject(new ParleyError('DELIVERY_UNAVAILABLE', 'XMPP server not connected'));
      }, ms);
      this.onlineWaiters.push(w);
    });
  }

  /**
   * Writes serialised stanzas in one go; resolves once the server has them
   * (see barrierDomain). Each write carries its own ping in the same socket
   * write, so a write is confirmed as soon as the server has worked through
   * it, whatever is written after it: writes pipeline, and the server always
   * has the next one queued while an earlier one is confirmed.
   *
   * The text is encoded at once and not kept: under load the confirmation
   * takes a few hundred milliseconds, and the stanzas' strings (each built
   * of many pieces) would live through young-generation GCs meanwhile.
   */
  write(fragment: string): Promise<void> {
    try {
      const e = this.entity;
      if (!e || !this.online) throw new ParleyError('DELIVERY_UNAVAILABLE', 'XMPP server not connected');
      if (!this.opts.barrierDomain) return e.write(fragment);
      const id = `parley-ping-${++this.pingSeq}`;
      // The window counts bytes, not characters (and the socket would encode them anyway).
      return this.writeConfirmed(e, id, Buffer.from(fragment + this.pingStanza(id), 'utf8'));
    } catch (err) {
      // As from an async function: callers see a rejection, never a throw.
      return Promise.reject(err as Error);
    }
  }

  private async writeConfirmed(e: Component, id: string, bytes: Buffer): Promise<void> {
    const at = performance.now();
    await this.window.acquire(bytes.length);
    let sentAt: number | undefined;
    try {
      // The stream may have gone while this write waited for room.
      if (this.entity !== e || !this.online) throw new ParleyError('DELIVERY_UNAVAILABLE', 'XMPP stream lost');
      const pong = this.awaitPong(id);
      const written = performance.now();
      this.writeBytes(e, bytes).catch((err: Error) => this.failPing(id, new ParleyError('DELIVERY_UNAVAILABLE', err.message)));
      await pong;
      sentAt = written;
    } finally {
      this.window.release(bytes.length, sentAt);
    }
    this.counters.confirmed++;
    this.counters.confirmWaitMs += performance.now() - at;
  }

  /** The write window's accounting, brought up to now. */
  windowStats(): Readonly<WindowStats> {
    this.window.account();
    return this.window.stats;
  }

  send(el: Element): Promise<void> {
    return this.write(el.toString());
  }

  private pingStanza(id: string): string {
    return xml('iq', { type: 'get', id, from: this.opts.domain, to: this.opts.barrierDomain }, xml('ping', { xmlns: NS.ping })).toString();
  }

  /** xmpp.js's Connection.write, for bytes: refuses once the stream is closing, resolves when the socket took them. */
  private writeBytes(e: Component, bytes: Buffer): Promise<void> {
    const socket = e.socket;
    if (!socket || e.status === 'closing') return Promise.reject(new Error('Connection is closing'));
    return new Promise((resolve, reject) => socket.write(bytes, (err) => (err ? reject(err) : resolve())));
  }

  private failPing(id: string, err: Error): void {
    const w = this.pings.get(id);
    this.pings.delete(id);
    w?.reject(err);
  }

  private awaitPong(id: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => {
        this.pings.delete(id);
        reject(new ParleyError('DELIVERY_TIMEOUT', 'XMPP server did not confirm the write'));
      }, this.opts.connectTimeoutMs);
      this.pings.set(id, { resolve: () => (clearTimeout(t), resolve()), reject: (err) => (clearTimeout(t), reject(err)) });
    });
  }

  private setState(state: ConnectorStatus['state'], detail?: string): void {
    this.state = { state, since: Date.now(), ...(detail ? { detail } : {}) };
    this.opts.onStatus?.(this.state);
  }

  private failWaiters(err: Error): void {
    for (const p of this.pings.values()) p.reject(err);
    this.pings.clear();
    const ws = this.onlineWaiters;
    this.onlineWaiters = [];
    for (const w of ws) w.reject(err);
    this.window.wakeAll();
  }

  private scheduleReconnect(reason: string): void {
    if (this.stopped || this.timer) return;
    this.setState('reconnecting', reason);
    this.failWaiters(new ParleyError('DELIVERY_UNAVAILABLE', `XMPP stream lost: ${reason}`));
    const base = Math.min(this.opts.reconnectMaxMs, this.opts.reconnectMinMs * 2 ** Math.min(this.attempt, 16));
    const delay = Math.round(base / 2 + Math.random() * (base / 2));
    this.attempt++;
    this.counters.reconnects++;
    this.opts.log.warn({ reason, delayMs: delay, attempt: this.attempt }, 'XMPP component stream down; reconnecting');
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.connectNow();
    }, delay);
  }

  private connectNow(): void {
    if (this.stopped) return;
    const old = this.entity;
    if (old) {
      old.removeAllListeners();
      old.on('error', () => undefined);
      old.socket?.destroy();
    }
    const e = new Component({ service: this.opts.service, domain: this.opts.domain });
    e.timeout = this.opts.connectTimeoutMs;
    this.entity = e;
    this.guardInput(e);
    let handshakeDone = false;
    e.on('open', (el: Element) => {
      e.authenticate(el.attrs.id ?? '', this.opts.secret).catch((err: Error) => {
        if (this.entity === e) this.lost(e, `handshake failed: ${err.message}`);
      });
    });
    e.on('online', () => {
      handshakeDone = true;
      this.streams++;
      this.attempt = 0;
      this.setState('up');
      this.opts.log.info({ domain: this.opts.domain, service: this.opts.service }, 'XMPP component stream up');
      const ws = this.onlineWaiters;
      this.onlineWaiters = [];
      for (const w of ws) w.resolve();
    });
    e.on('stanza', (el: Element) => this.onStanza(el));
    e.on('error', (err: Error) => this.opts.log.warn({ err: err.message }, 'XMPP component stream error'));
    e.on('disconnect', () => this.lost(e, 'socket closed'));
    e.on('close', () => this.lost(e, 'stream closed'));
    const timeout = setTimeout(() => {
      if (!handshakeDone && this.entity === e) this.lost(e, 'connect timeout');
    }, this.opts.connectTimeoutMs);
    e.connect(this.opts.service)
      .then(() => {
        // Small stanzas must not wait for Nagle's algorithm (40 ms with delayed ACKs).
        e.socket?.setNoDelay(true);
        return e.open({ domain: this.opts.domain });
      })
      .catch((err: Error) => this.lost(e, err.message))
      .finally(() => clearTimeout(timeout));
  }

  private lost(e: Component, reason: string): void {
    if (this.entity !== e || this.stopped) return;
    e.removeAllListeners();
    e.on('error', () => undefined);
    e.socket?.destroy();
    this.entity = undefined;
    this.scheduleReconnect(reason);
  }

  private onStanza(el: Element): void {
    if (el.name === 'iq' && (el.attrs.type === 'result' || el.attrs.type === 'error')) {
      const id = el.attrs.id;
      const w = id ? this.pings.get(id) : undefined;
      if (w && id) {
        this.pings.delete(id);
        // An error answer still proves the server processed what came before.
        w.resolve();
        return;
      }
    }
    try {
      this.opts.onStanza(el);
    } catch (err) {
      this.opts.log.error({ err, stanza: el.name }, 'XMPP stanza handler failed');
    }
  }

  /** Replaces xmpp.js's per-chunk `toString('utf8')` with a safe, bounded reader. */
  private guardInput(e: Component): void {
    const decoder = new StringDecoder('utf8');
    let pending = 0;
    e.on('element', () => (pending = 0));
    e._onData = (data: Buffer): void => {
      if (this.entity !== e) return;
      const text = decoder.write(data);
      pending += data.length;
      if (pending > this.opts.maxPendingBytes) {
        this.counters.oversized++;
        this.opts.log.error({ bytes: pending, limit: this.opts.maxPendingBytes }, 'XMPP stanza exceeds the size limit; dropping the stream');
        void e._streamError('policy-violation').catch(() => undefined);
        this.lost(e, 'stanza too large');
        return;
      }
      try {
        e.parser?.write(text);
      } catch (err) {
        this.counters.parseErrors++;
        this.opts.log.error({ err: (err as Error).message }, 'malformed XML from the XMPP server; restarting the stream');
        void e._streamError('not-well-formed').catch(() => undefined);
        this.lost(e, 'not-well-formed');
      }
    };
  }
}
