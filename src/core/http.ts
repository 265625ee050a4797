/** The HTTP seam between the server and whoever serves a route (connectors, admin). */
export interface HttpRequest {
  method: string;
  path: string;
  query: string;
  /** Lower-cased header names. */
  headers: Readonly<Record<string, string>>;
  body: Buffer;
  /** The peer's IP address as text (the socket's; a proxy's when there is one in front). */
  remoteAddress?: string;
}

export interface HttpResponse {
  status: number;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /**
   * A body sent as it is produced (chunked), instead of `body`: backpressure
   * is honoured; an error thrown by the iterator closes the connection.
   */
  stream?: AsyncIterable<Uint8Array>;
}

export type HttpHandler = (req: HttpRequest) => Promise<HttpResponse>;

export interface RouteSpec {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path: string;
  /** Larger bodies are refused with 413 before the handler runs. */
  maxBodyBytes: number;
  handler: HttpHandler;
}

export function json(status: number, value: unknown, headers: Record<string, string> = {}): HttpResponse {
  return { status, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(value) };
}
