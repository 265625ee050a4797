import type { Logger } from 'pino';
import { json } from '../core/http.ts';
import type { HttpRequest, HttpResponse, RouteSpec } from '../core/http.ts';
import { ParleyError } from '../core/errors.ts';
import { uws } from './uws.ts';
import type { UWS } from './uws.ts';

export interface HttpServerOptions {
  host: string;
  port: number;
  log: Logger;
  /** Time allowed for the request body to arrive in full; 408 after. */
  requestTimeoutMs?: number;
  /** Headers added to every response (404s and 413s included) unless the handler set them. */
  defaultHeaders?: Readonly<Record<string, string>>;
}

export interface InjectRequest {
  method: string;
  /** May carry `?query` when `query` is not given. */
  path: string;
  query?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  remoteAddress?: string;
}

const REASONS: Readonly<Record<number, string>> = {
  200: 'OK', 201: 'Created', 202: 'Accepted', 204: 'No Content',
  301: 'Moved Permanently', 302: 'Found', 303: 'See Other', 304: 'Not Modified',
  307: 'Temporary Redirect', 308: 'Permanent Redirect',
  400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found',
  405: 'Method Not Allowed', 408: 'Request Timeout', 409: 'Conflict', 410: 'Gone',
  413: 'Content Too Large', 415: 'Unsupported Media Type', 422: 'Unprocessable Content',
  429: 'Too Many Requests', 500: 'Internal Server Error', 501: 'Not Implemented',
  502: 'Bad Gateway', 503: 'Service Unavailable', 504: 'Gateway Timeout',
};

/** uWS computes framing itself; echoing these from a handler would duplicate or contradict it. */
const FRAMING_HEADERS = new Set(['content-length', 'transfer-encoding']);

export function statusLine(status: number): string {
  const reason = REASONS[status];
  return reason ? `${status} ${reason}` : String(status);
}

function errorBody(status: number, code: string, message: string, headers: Record<string, string> = {}): HttpResponse {
  return json(status, { error: { code, message } }, headers);
}

function tooLarge(max: number): HttpResponse {
  return errorBody(413, 'BODY_TOO_LARGE', `Request body exceeds ${max} bytes`);
}

/** undefined: no body announced; NaN: unparseable. */
function declaredLength(headers: Readonly<Record<string, string>>): number | undefined {
  const raw = headers['content-length'];
  if (raw === undefined) return undefined;
  return /^\d+$/.test(raw.trim()) ? Number(raw.trim()) : Number.NaN;
}

function refuseByLength(route: RouteSpec, length: number | undefined): HttpResponse | undefined {
  if (length === undefined) return undefined;
  if (Number.isNaN(length)) return errorBody(400, 'BAD_REQUEST', 'Invalid content-length');
  return length > route.maxBodyBytes ? tooLarge(route.maxBodyBytes) : undefined;
}

function splitPath(path: string, query: string | undefined): { path: string; query: string } {
  const q = path.indexOf('?');
  const bare = q === -1 ? path : path.slice(0, q);
  const fromPath = q === -1 ? '' : path.slice(q + 1);
  const raw = query ?? fromPath;
  return { path: bare, query: raw.startsWith('?') ? raw.slice(1) : raw };
}

interface Pending {
  aborted: boolean;
  responded: boolean;
  timer: NodeJS.Timeout | undefined;
  /** Wakes a streaming response waiting for the socket to drain. */
  onAbort?: () => void;
}

type Match = { route: RouteSpec } | { response: HttpResponse };

export class HttpServer {
  private readonly routes = new Map<string, RouteSpec>();
  private readonly app: UWS.TemplatedApp;
  private readonly log: Logger;
  private readonly requestTimeoutMs: number;
  private listenSocket: UWS.us_listen_socket | undefined;

  constructor(private readonly opts: HttpServerOptions) {
    this.log = opts.log;
    this.requestTimeoutMs = opts.requestTimeoutMs ?? 30_000;
    this.app = uws.App().any('/*', (res, req) => this.onRequest(res, req));
  }

  addRoute(spec: RouteSpec): void {
    const key = `${spec.method} ${spec.path}`;
    if (this.routes.has(key)) throw new Error(`HttpServer: route ${key} is already registered`);
    this.routes.set(key, spec);
  }

  /**
   * Registers a WebSocket endpoint on the same listener (src/server/ws-feed.ts).
   * uWS matches upgrade requests on `pattern` ahead of the HTTP catch-all.
   */
  addWebSocket<T>(pattern: string, behavior: UWS.WebSocketBehavior<T>): void {
    this.app.ws<T>(pattern, behavior);
  }

  /** Sends to every WebSocket of this server subscribed to `topic`. */
  publish(topic: string, message: string): boolean {
    return this.app.publish(topic, message);
  }

  async listen(): Promise<number> {
    if (this.listenSocket) throw new Error('HttpServer is already listening');
    const { host, port } = this.opts;
    return new Promise<number>((resolve, reject) => {
      this.app.listen(host, port, (socket) => {
        if (socket === false) {
          reject(new Error(`HttpServer could not listen on ${host}:${port} (address in use, not local, or not permitted)`));
          return;
        }
        this.listenSocket = socket;
        const bound = uws.us_socket_local_port(socket);
        this.log.info({ host, port: bound }, 'http server listening');
        resolve(bound);
      });
    });
  }

  /** Stops accepting connections; requests already in flight still complete. */
  async close(): Promise<void> {
    if (!this.listenSocket) return;
    uws.us_listen_socket_close(this.listenSocket);
    this.listenSocket = undefined;
  }

  /** Runs the routing, limits and handler pipeline without a socket. */
  async inject(input: InjectRequest): Promise<HttpResponse> {
    return this.withDefaults(await this.injectBare(input));
  }

  private withDefaults(response: HttpResponse): HttpResponse {
    const defaults = this.opts.defaultHeaders;
    if (!defaults) return response;
    const headers = { ...response.headers };
    const present = new Set(Object.keys(headers).map((k) => k.toLowerCase()));
    for (const [k, v] of Object.entries(defaults)) if (!present.has(k.toLowerCase())) headers[k] = v;
    return { ...response, headers };
  }

  private async injectBare(input: InjectRequest): Promise<HttpResponse> {
    const { path, query } = splitPath(input.path, input.query);
    const method = input.method.toUpperCase();
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(input.headers ?? {})) headers[k.toLowerCase()] = v;
    const body = typeof input.body === 'string' ? Buffer.from(input.body, 'utf8') : (input.body ?? Buffer.alloc(0));

    const matched = this.match(method, path);
    if ('response' in matched) return matched.response;
    const { route } = matched;
    const refused = refuseByLength(route, declaredLength(headers)) ?? refuseByLength(route, body.length);
    if (refused) return refused;
    return this.dispatch(route, { method, path, query, headers, body, ...(input.remoteAddress ? { remoteAddress: input.remoteAddress } : {}) });
  }

  private match(method: string, path: string): Match {
    const route = this.routes.get(`${method} ${path}`);
    if (route) return { route };
    const allowed = [...this.routes.values()].filter((r) => r.path === path).map((r) => r.method);
    if (allowed.length === 0) return { response: errorBody(404, 'NOT_FOUND', `No route for ${path}`) };
    return {
      response: errorBody(405, 'METHOD_NOT_ALLOWED', `${method} is not allowed on ${path}`, { allow: allowed.join(', ') }),
    };
  }

  private async dispatch(route: RouteSpec, req: HttpRequest): Promise<HttpResponse> {
    try {
      const response = await route.handler(req);
      if (!Number.isInteger(response.status) || response.status < 100 || response.status > 599) {
        throw new Error(`handler returned invalid HTTP status ${String(response.status)}`);
      }
      return response;
    } catch (err) {
      if (err instanceof ParleyError) {
        const status = err.status >= 400 && err.status <= 599 ? err.status : 500;
        const level = status >= 500 ? 'error' : 'debug';
        this.log[level]({ err, method: req.method, path: req.path }, 'route handler refused the request');
        const headers: Record<string, string> = {};
        if (err.retryAfterMs !== undefined) headers['retry-after'] = String(Math.ceil(err.retryAfterMs / 1000));
        return errorBody(status, err.code, err.message, headers);
      }
      this.log.error({ err, method: req.method, path: req.path }, 'route handler failed');
      return errorBody(500, 'INTERNAL', 'Internal error');
    }
  }

  private onRequest(res: UWS.HttpResponse, req: UWS.HttpRequest): void {
    // uWS stack-allocates `req`: everything needed must be read before returning.
    const method = req.getMethod().toUpperCase();
    const path = req.getUrl();
    // The typings promise a string; this build returns undefined when there is no query.
    const query = (req.getQuery() as string | undefined) ?? '';
    const headers: Record<string, string> = {};
    req.forEach((key, value) => {
      const prior = headers[key];
      headers[key] = prior === undefined ? value : `${prior}, ${value}`;
    });
    const remoteAddress = Buffer.from(res.getRemoteAddressAsText()).toString('latin1');

    const pending: Pending = { aborted: false, responded: false, timer: undefined };
    res.onAborted(() => {
      pending.aborted = true;
      clearTimeout(pending.timer);
      pending.onAbort?.();
      this.log.debug({ method, path }, 'request aborted by client');
    });

    const declared = declaredLength(headers);
    const expectsBody = (declared !== undefined && declared !== 0) || headers['transfer-encoding'] !== undefined;
    const matched = this.match(method, path);
    if ('response' in matched) return this.send(res, pending, matched.response, expectsBody);
    const { route } = matched;
    const refused = refuseByLength(route, declared);
    if (refused) return this.send(res, pending, refused, true);

    pending.timer = setTimeout(() => {
      this.send(res, pending, errorBody(408, 'REQUEST_TIMEOUT', 'Request body was not received in time'), true);
    }, this.requestTimeoutMs);

    const chunks: Buffer[] = [];
    let received = 0;
    res.onData((chunk, isLast) => {
      if (pending.aborted || pending.responded) return;
      received += chunk.byteLength;
      if (received > route.maxBodyBytes) {
        this.send(res, pending, tooLarge(route.maxBodyBytes), true);
        return;
      }
      // uWS neuters the ArrayBuffer once this callback returns.
      if (chunk.byteLength > 0) chunks.push(Buffer.copyBytesFrom(new Uint8Array(chunk)));
      if (!isLast) return;
      clearTimeout(pending.timer);
      const body = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, received);
      void this.dispatch(route, { method, path, query, headers, body, remoteAddress }).then((response) =>
        this.send(res, pending, response, false),
      );
    });
  }

  /** `closeConnection` when the request body may still be in flight, so uWS does not keep draining it. */
  private send(res: UWS.HttpResponse, pending: Pending, bare: HttpResponse, closeConnection: boolean): void {
    if (pending.aborted || pending.responded) return;
    const response = this.withDefaults(bare);
    pending.responded = true;
    clearTimeout(pending.timer);
    if (response.stream && response.status !== 204 && response.status !== 304) {
      void this.sendStream(res, pending, response, response.stream);
      return;
    }
    try {
      res.cork(() => {
        res.writeStatus(statusLine(response.status));
        for (const [key, value] of Object.entries(response.headers ?? {})) {
          if (!FRAMING_HEADERS.has(key.toLowerCase())) res.writeHeader(key, value);
        }
        if (response.status === 204 || response.status === 304) res.endWithoutBody(undefined, closeConnection);
        else res.end(response.body ?? '', closeConnection);
      });
    } catch (err) {
      this.log.error({ err, status: response.status }, 'failed to write http response');
      if (!pending.aborted) res.close();
    }
  }

  /** Writes a streamed body chunk by chunk (chunked encoding), waiting for the socket whenever uWS buffers. */
  private async sendStream(res: UWS.HttpResponse, pending: Pending, response: HttpResponse, stream: AsyncIterable<Uint8Array>): Promise<void> {
    const it = stream[Symbol.asyncIterator]();
    let wake: (() => void) | undefined;
    pending.onAbort = () => wake?.();
    try {
      res.cork(() => {
        res.writeStatus(statusLine(response.status));
        for (const [key, value] of Object.entries(response.headers ?? {})) {
          if (!FRAMING_HEADERS.has(key.toLowerCase())) res.writeHeader(key, value);
        }
      });
      for (;;) {
        const next = await it.next();
        if (pending.aborted) break;
        if (next.done) {
          res.cork(() => res.end());
          return;
        }
        let ok = true;
        res.cork(() => (ok = res.write(next.value)));
        if (!ok) {
          await new Promise<void>((resolve) => {
            wake = resolve;
            res.onWritable(() => (resolve(), true));
          });
          wake = undefined;
          if (pending.aborted) break;
        }
      }
      await it.return?.();
    } catch (err) {
      this.log.warn({ err, status: response.status }, 'streamed response failed; closing the connection');
      await Promise.resolve(it.return?.()).catch(() => undefined);
      if (!pending.aborted) res.close();
    }
  }
}
