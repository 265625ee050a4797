import type { Logger } from 'pino';
import type { HttpServer } from './http-server.ts';
import type { UWS } from './uws.ts';

/**
 * A live figure pushed over WebSocket: messages processed in the last minute,
 * sampled from a monotonic counter (e.g. the hub's parley_ingress_total) every
 * `intervalMs`, published to every subscriber as
 * `{"perMinute": n, "at": epochMs}`; a new subscriber gets the last value at
 * once. Read-only: anything a client sends is ignored (and a large frame
 * closes the socket). The upgrade is refused (401/403) unless `authorize`
 * accepts the request's headers and the Origin is the listener's own.
 */
export interface MessageRateFeedOptions {
  /** Exact path, e.g. /admin/api/v1/live. */
  path: string;
  /** Cumulative count of processed messages. */
  count: () => number | Promise<number>;
  /** Decides from the upgrade request's headers (cookie, origin, host) whether to accept it. */
  authorize: (headers: Readonly<Record<string, string>>) => boolean | Promise<boolean>;
  log: Logger;
  intervalMs?: number;
  /** Origins allowed besides http(s)://<Host>. */
  origins?: readonly string[];
}

interface Sample {
  at: number;
  count: number;
}

const TOPIC = 'parley/message-rate';
const WINDOW_MS = 60_000;

export class MessageRateFeed {
  private readonly samples: Sample[] = [];
  private timer: NodeJS.Timeout | undefined;
  private server: HttpServer | undefined;
  private last = JSON.stringify({ perMinute: 0, at: Date.now() });

  constructor(private readonly opts: MessageRateFeedOptions) {}

  /** Messages counted over the last minute (scaled up while less than a minute of samples exists). */
  perMinute(): number {
    const newest = this.samples[this.samples.length - 1];
    const oldest = this.samples[0];
    if (!newest || !oldest || newest.at === oldest.at) return 0;
    const span = newest.at - oldest.at;
    const delta = Math.max(0, newest.count - oldest.count);
    return Math.round(span >= WINDOW_MS ? delta : (delta * WINDOW_MS) / span);
  }

  attach(server: HttpServer): void {
    this.server = server;
    server.addWebSocket<{ at: number }>(this.opts.path, {
      maxPayloadLength: 1024,
      idleTimeout: 120,
      sendPingsAutomatically: true,
      upgrade: (res, req, context) => this.upgrade(res, req, context),
      open: (ws) => {
        ws.subscribe(TOPIC);
        ws.send(this.last);
      },
      message: () => undefined,
    });
    void this.sample();
    this.timer = setInterval(() => void this.sample(), this.opts.intervalMs ?? 5_000);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private async sample(): Promise<void> {
    try {
      const now = Date.now();
      this.samples.push({ at: now, count: await this.opts.count() });
      while (this.samples.length > 2 && (this.samples[1] as Sample).at <= now - WINDOW_MS) this.samples.shift();
      this.last = JSON.stringify({ perMinute: this.perMinute(), at: now });
      this.server?.publish(TOPIC, this.last);
    } catch (err) {
      this.opts.log.warn({ err }, 'message rate feed: sampling failed');
    }
  }

  private upgrade(res: UWS.HttpResponse, req: UWS.HttpRequest, context: UWS.us_socket_context_t): void {
    // uWS stack-allocates `req`: read everything before the first await.
    const headers: Record<string, string> = {};
    req.forEach((k, v) => {
      headers[k] = v;
    });
    const key = req.getHeader('sec-websocket-key');
    const protocol = req.getHeader('sec-websocket-protocol');
    const extensions = req.getHeader('sec-websocket-extensions');
    let aborted = false;
    res.onAborted(() => {
      aborted = true;
    });
    const refuse = (status: string): void => {
      if (aborted) return;
      res.cork(() => res.writeStatus(status).writeHeader('content-type', 'text/plain').end(status, true));
    };
    const host = headers.host ?? '';
    const origin = headers.origin;
    const sameOrigin = origin === undefined || origin === `http://${host}` || origin === `https://${host}` || (this.opts.origins ?? []).includes(origin);
    if (!sameOrigin) return refuse('403 Forbidden');
    Promise.resolve()
      .then(() => this.opts.authorize(headers))
      .then(
        (ok) => {
          if (!ok) return refuse('401 Unauthorized');
          if (aborted) return;
          res.cork(() => res.upgrade({ at: Date.now() }, key, protocol, extensions, context));
        },
        (err: unknown) => {
          this.opts.log.warn({ err }, 'message rate feed: authorisation failed');
          refuse('500 Internal Server Error');
        },
      );
  }
}
