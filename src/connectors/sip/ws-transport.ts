import { EmitterImpl, TransportState, type Core, type Emitter, type Transport } from 'sip.js';
import WebSocket from 'ws';

type RawData = Buffer | ArrayBuffer | Buffer[] | string;

export interface WsTransportOptions {
  server: string;
  /** Largest WebSocket message accepted from the edge; bigger ones are dropped. */
  maxMessageBytes: number;
  connectTimeoutMs: number;
  /** Interval of WebSocket pings; a connection that misses two is closed. */
  keepAliveMs: number;
  /** Called with each frame that was refused (too large), for metrics. */
  onDropped?: (reason: string) => void;
  /** Sees each inbound message first; true means it was handled and sip.js does not get it. */
  intercept?: (message: string) => boolean;
}

/**
 * SIP over WebSocket (RFC 7118) for sip.js on Node, on the `ws` package.
 * Inbound frames are handed to sip.js as byte strings (one char per byte,
 * latin1), so Content-Length counts bytes as it must and a body in any charset
 * survives untouched until the connector decodes it (content.ts). Outbound,
 * sip.js writes UTF-8 lengths, so what it sends is encoded as UTF-8.
 */
export class WsTransport implements Transport {
  readonly protocol = 'WS';
  onConnect: (() => void) | undefined;
  onDisconnect: ((error?: Error) => void) | undefined;
  onMessage: ((message: string) => void) | undefined;
  private readonly emitter = new EmitterImpl<TransportState>();
  private _state: TransportState = TransportState.Disconnected;
  private ws: WebSocket | undefined;
  private pinger: NodeJS.Timeout | undefined;
  private missedPongs = 0;
  private corked = false;
  private readonly opts: WsTransportOptions;

  constructor(
    private readonly logger: Core.Logger,
    options: unknown,
  ) {
    this.opts = options as WsTransportOptions;
  }

  get state(): TransportState {
    return this._state;
  }

  get stateChange(): Emitter<TransportState> {
    return this.emitter;
  }

  isConnected(): boolean {
    return this._state === TransportState.Connected;
  }

  private transition(next: TransportState, error?: Error): void {
    if (this._state === next) return;
    const prev = this._state;
    this._state = next;
    if (next === TransportState.Connected) this.onConnect?.();
    if (prev === TransportState.Connected && next !== TransportState.Connected) this.onDisconnect?.(error);
    this.emitter.emit(next);
  }

  connect(): Promise<void> {
    if (this._state === TransportState.Connected) return Promise.resolve();
    this.transition(TransportState.Connecting);
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(this.opts.server, 'sip', {
        handshakeTimeout: this.opts.connectTimeoutMs,
        maxPayload: this.opts.maxMessageBytes,
        perMessageDeflate: false,
        // ws >= 8: a body in a non-UTF-8 charset must not kill the connection.
        skipUTF8Validation: true,
      } as WebSocket.ClientOptions);
      this.ws = ws;
      let settled = false;
      ws.on('open', () => {
        settled = true;
        this.missedPongs = 0;
        this.pinger = setInterval(() => this.ping(), this.opts.keepAliveMs);
        this.pinger.unref();
        this.transition(TransportState.Connected);
        resolve();
      });
      ws.on('message', (data: RawData) => this.receive(data));
      ws.on('pong', () => (this.missedPongs = 0));
      ws.on('error', (err: Error) => {
        this.logger.warn(`websocket error: ${err.message}`);
        if (!settled) {
          settled = true;
          reject(err);
        }
      });
      ws.on('close', (code: number) => {
        if (this.ws !== ws) return;
        this.cleanup();
        const err = code === 1000 ? undefined : new Error(`websocket closed (${code})`);
        if (!settled) {
          settled = true;
          reject(err ?? new Error('websocket closed'));
        }
        this.transition(TransportState.Disconnected, err);
      });
    });
  }

  private ping(): void {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return;
    if (++this.missedPongs > 2) {
      this.logger.warn('edge stopped answering pings; closing the connection');
      ws.terminate();
      return;
    }
    ws.ping();
  }

  private receive(data: RawData): void {
    let text: string;
    if (typeof data === 'string') text = Buffer.from(data, 'utf8').toString('latin1');
    else if (Buffer.isBuffer(data)) text = data.toString('latin1');
    else if (Array.isArray(data)) text = Buffer.concat(data).toString('latin1');
    else text = Buffer.from(data).toString('latin1');
    try {
      if (this.opts.intercept?.(text)) return;
      this.onMessage?.(text);
    } catch (err) {
      // sip.js throws on some malformed input: one bad message must not take the connection down.
      this.opts.onDropped?.('unparseable');
      this.logger.warn(`dropped a message sip.js could not handle: ${(err as Error).message}`);
    }
  }

  send(message: string): Promise<void> {
    return this.write(Buffer.from(message, 'utf8'));
  }

  /** Sends a message given as a byte string (one char per byte), as inbound messages are handed over. */
  sendBytes(message: string): Promise<void> {
    return this.write(Buffer.from(message, 'latin1'));
  }

  private write(bytes: Buffer): Promise<void> {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return Promise.reject(new Error('websocket not connected'));
    this.coalesce(ws);
    return new Promise((resolve, reject) => ws.send(bytes, { binary: false }, (err) => (err ? reject(err) : resolve())));
  }

  /**
   * Responses come in bursts (every request whose ingest was acknowledged by
   * the same batch): the frames written in one tick leave in one write.
   */
  private coalesce(ws: WebSocket): void {
    if (this.corked) return;
    const socket = (ws as unknown as { _socket?: { cork(): void; uncork(): void } })._socket;
    if (!socket || typeof socket.cork !== 'function') return;
    this.corked = true;
    socket.cork();
    process.nextTick(() => {
      this.corked = false;
      socket.uncork();
    });
  }

  private cleanup(): void {
    if (this.pinger) clearInterval(this.pinger);
    this.pinger = undefined;
    this.ws = undefined;
  }

  disconnect(): Promise<void> {
    const ws = this.ws;
    if (!ws) {
      this.transition(TransportState.Disconnected);
      return Promise.resolve();
    }
    this.transition(TransportState.Disconnecting);
    return new Promise((resolve) => {
      const t = setTimeout(() => ws.terminate(), 2_000);
      ws.once('close', () => {
        clearTimeout(t);
        resolve();
      });
      ws.close(1000);
    });
  }

  async dispose(): Promise<void> {
    await this.disconnect();
  }
}
