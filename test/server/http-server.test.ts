import { afterEach, describe, expect, it } from 'vitest';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { pino } from 'pino';
import type { Logger } from 'pino';
import { json } from '../../src/core/http.ts';
import type { HttpRequest, RouteSpec } from '../../src/core/http.ts';
import { ParleyError } from '../../src/core/errors.ts';
import { HttpServer } from '../../src/server/http-server.ts';
import { loadUws } from '../../src/server/uws.ts';

const silent = pino({ level: 'silent' });
const open: HttpServer[] = [];

afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});

async function start(routes: RouteSpec[], opts: { requestTimeoutMs?: number; log?: Logger } = {}) {
  const server = new HttpServer({ host: '127.0.0.1', port: 0, log: opts.log ?? silent, requestTimeoutMs: opts.requestTimeoutMs });
  for (const r of routes) server.addRoute(r);
  open.push(server);
  const port = await server.listen();
  return { server, port, base: `http://127.0.0.1:${port}` };
}

const echo: RouteSpec = {
  method: 'POST',
  path: '/echo',
  maxBodyBytes: 1024 * 1024,
  handler: async (req) =>
    json(200, { body: req.body.toString('utf8'), query: req.query, tag: req.headers['x-tag'] ?? null, method: req.method }),
};
const hello: RouteSpec = { method: 'GET', path: '/hello', maxBodyBytes: 0, handler: async (req) => json(200, { hi: req.query }) };

function counting(path: string, maxBodyBytes: number) {
  const calls: HttpRequest[] = [];
  const route: RouteSpec = { method: 'POST', path, maxBodyBytes, handler: async (req) => (calls.push(req), json(200, { ok: true })) };
  return { route, calls };
}

/** Sends raw bytes, returns everything the server wrote before closing or `waitMs`. */
function raw(port: number, data: string, waitMs = 1500): Promise<string> {
  return new Promise((resolve) => {
    const sock = connect(port, '127.0.0.1');
    let out = '';
    const timer = setTimeout(() => sock.destroy(), waitMs);
    sock.on('data', (d) => (out += d.toString('utf8')));
    sock.on('error', () => undefined);
    sock.on('close', () => (clearTimeout(timer), resolve(out)));
    sock.write(data);
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('HttpServer over real sockets', () => {
  it('routes GET and echoes a POST JSON body with query and headers', async () => {
    const { base } = await start([hello, echo]);
    const get = await fetch(`${base}/hello?x=1`);
    expect(get.status).toBe(200);
    expect(get.headers.get('content-type')).toBe('application/json');
    expect(await get.json()).toEqual({ hi: 'x=1' });

    const payload = JSON.stringify({ text: 'hi', n: 3 });
    const post = await fetch(`${base}/echo`, { method: 'POST', body: payload, headers: { 'X-Tag': 'abc' } });
    expect(post.status).toBe(200);
    expect(await post.json()).toEqual({ body: payload, query: '', tag: 'abc', method: 'POST' });
  });

  it('answers 404 for unknown paths and 405 with allow for wrong methods', async () => {
    const put: RouteSpec = { method: 'PUT', path: '/hello', maxBodyBytes: 10, handler: async () => json(200, {}) };
    const { base } = await start([hello, put]);
    const missing = await fetch(`${base}/nope`);
    expect(missing.status).toBe(404);
    expect(missing.statusText).toBe('Not Found');
    expect(await missing.json()).toMatchObject({ error: { code: 'NOT_FOUND' } });

    const wrong = await fetch(`${base}/hello`, { method: 'DELETE' });
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')?.split(', ').sort()).toEqual(['GET', 'PUT']);
    expect(await wrong.json()).toMatchObject({ error: { code: 'METHOD_NOT_ALLOWED' } });
  });

  it('refuses a body over the limit by content-length before the handler runs', async () => {
    const { route, calls } = counting('/small', 1024);
    const { base } = await start([route]);
    const res = await fetch(`${base}/small`, { method: 'POST', body: 'x'.repeat(2048) });
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ error: { code: 'BODY_TOO_LARGE' } });
    const ok = await fetch(`${base}/small`, { method: 'POST', body: 'x'.repeat(1024) });
    expect(ok.status).toBe(200);
    expect(calls).toHaveLength(1);
  });

  it('refuses a chunked body while it streams, before the client has finished', async () => {
    const { route, calls } = counting('/small', 1024);
    const { port } = await start([route]);
    const result = await new Promise<{ status: number; body: string; chunksSent: number }>((resolve, reject) => {
      let chunksSent = 0;
      let done = false;
      const req = httpRequest({ host: '127.0.0.1', port, method: 'POST', path: '/small', headers: { 'transfer-encoding': 'chunked' } });
      req.on('error', (err) => (done ? undefined : reject(err)));
      req.on('response', (res) => {
        done = true;
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString('utf8')));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, chunksSent }));
      });
      const pump = async () => {
        while (!done && chunksSent < 200) {
          req.write('y'.repeat(256));
          chunksSent++;
          await sleep(10);
        }
        if (!done) req.end();
      };
      void pump();
    });
    expect(result.status).toBe(413);
    expect(JSON.parse(result.body)).toMatchObject({ error: { code: 'BODY_TOO_LARGE' } });
    expect(result.chunksSent).toBeLessThan(200);
    expect(calls).toHaveLength(0);
  });

  it('answers 408 when the body does not arrive within requestTimeoutMs', async () => {
    const { route, calls } = counting('/slow', 100);
    const { port } = await start([route], { requestTimeoutMs: 150 });
    const out = await raw(port, 'POST /slow HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc');
    expect(out).toMatch(/^HTTP\/1\.1 408 /);
    expect(out).toContain('REQUEST_TIMEOUT');
    expect(calls).toHaveLength(0);
  });

  it('maps a thrown non-Parley error to 500 INTERNAL without leaking its message', async () => {
    const boom: RouteSpec = { method: 'GET', path: '/boom', maxBodyBytes: 0, handler: async () => { throw new Error('db password is hunter2'); } };
    const { base } = await start([boom]);
    const res = await fetch(`${base}/boom`);
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(JSON.parse(text)).toEqual({ error: { code: 'INTERNAL', message: 'Internal error' } });
    expect(text).not.toContain('hunter2');
    expect(text).not.toContain('at ');
  });

  it('maps ParleyError to its status, code and retry-after; bad statuses become 500', async () => {
    const bogus = new ParleyError('DELIVERY_REJECTED');
    Object.defineProperty(bogus, 'status', { value: 302 });
    const thrower = (path: string, err: ParleyError): RouteSpec => ({ method: 'GET', path, maxBodyBytes: 0, handler: async () => { throw err; } });
    const { base } = await start([
      thrower('/limited', new ParleyError('RATE_LIMITED', 'slow down', { retryAfterMs: 1500 })),
      thrower('/offline', new ParleyError('RECIPIENT_UNAVAILABLE')),
      thrower('/bogus', bogus),
    ]);
    const limited = await fetch(`${base}/limited`);
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('2');
    expect(await limited.json()).toEqual({ error: { code: 'RATE_LIMITED', message: 'Destination asked to slow down: slow down' } });

    const offline = await fetch(`${base}/offline`);
    expect(offline.status).toBe(480);
    expect(offline.statusText).toBe('');
    expect(await offline.json()).toMatchObject({ error: { code: 'RECIPIENT_UNAVAILABLE' } });

    const b = await fetch(`${base}/bogus`);
    expect(b.status).toBe(500);
    expect(await b.json()).toMatchObject({ error: { code: 'DELIVERY_REJECTED' } });
  });

  it('survives a client that disconnects mid-body and one that disconnects while the handler runs', async () => {
    const lines: string[] = [];
    const log = pino({ level: 'debug' }, { write: (line: string) => void lines.push(line) });
    const { route, calls } = counting('/upload', 1000);
    let entered!: () => void;
    const handlerEntered = new Promise<void>((r) => (entered = r));
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const slow: RouteSpec = { method: 'POST', path: '/slow', maxBodyBytes: 100, handler: async () => (entered(), await gate, json(200, { late: true })) };
    const { base, port } = await start([route, slow, hello], { log });

    const midBody = connect(port, '127.0.0.1');
    midBody.on('error', () => undefined);
    midBody.write('POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n0123456789');
    await sleep(50);
    midBody.destroy();

    const midHandler = connect(port, '127.0.0.1');
    midHandler.on('error', () => undefined);
    midHandler.write('POST /slow HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi');
    await handlerEntered;
    midHandler.destroy();
    await sleep(50);
    release();
    await sleep(50);

    const after = await fetch(`${base}/hello`);
    expect(after.status).toBe(200);
    expect(calls).toHaveLength(0);
    const records = lines.map((l) => JSON.parse(l) as { level: number; msg: string });
    expect(records.filter((r) => r.msg === 'request aborted by client')).toHaveLength(2);
    expect(records.filter((r) => r.level >= 50)).toEqual([]);
  });

  it('serves routes added after listen', async () => {
    const { server, base } = await start([]);
    expect((await fetch(`${base}/late`)).status).toBe(404);
    server.addRoute({ method: 'GET', path: '/late', maxBodyBytes: 0, handler: async () => json(200, { late: true }) });
    const res = await fetch(`${base}/late`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ late: true });
  });

  it('keeps 4-byte UTF-8 characters intact when they straddle body chunks', async () => {
    const { base, port } = await start([echo]);
    const big = '😀🎉'.repeat(40_000);
    const viaFetch = await fetch(`${base}/echo`, { method: 'POST', body: big });
    expect(((await viaFetch.json()) as { body: string }).body).toBe(big);

    const bytes = Buffer.from('a😀b', 'utf8');
    const split = await new Promise<string>((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port, method: 'POST', path: '/echo', headers: { 'transfer-encoding': 'chunked' } }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve(body));
      });
      req.on('error', reject);
      req.write(bytes.subarray(0, 3));
      setTimeout(() => req.end(bytes.subarray(3)), 30);
    });
    expect((JSON.parse(split) as { body: string }).body).toBe('a😀b');
  }, 10_000);

  it('rejects listen on a port that is already bound', async () => {
    const { port } = await start([hello]);
    const second = new HttpServer({ host: '127.0.0.1', port, log: silent });
    await expect(second.listen()).rejects.toThrow(/could not listen on 127\.0\.0\.1:\d+/);
  });
});

describe('HttpServer.inject', () => {
  const boom: RouteSpec = { method: 'GET', path: '/boom', maxBodyBytes: 0, handler: async () => { throw new Error('secret'); } };

  it('matches the socket pipeline for routing, limits and errors', async () => {
    const { server, base } = await start([hello, echo, boom, counting('/small', 4).route]);
    const cases = [
      { method: 'GET', path: '/hello?q=2' },
      { method: 'POST', path: '/echo', headers: { 'X-Tag': 't' }, body: '{"a":"😀"}' },
      { method: 'GET', path: '/missing' },
      { method: 'PUT', path: '/echo', body: 'x' },
      { method: 'POST', path: '/small', body: 'too long' },
      { method: 'GET', path: '/boom' },
    ];
    for (const c of cases) {
      const injected = await server.inject(c);
      const real = await fetch(`${base}${c.path}`, { method: c.method, headers: c.headers, body: c.body });
      expect({ path: c.path, status: injected.status }).toEqual({ path: c.path, status: real.status });
      expect(JSON.parse(String(injected.body))).toEqual(await real.json());
      if (real.status === 405) expect(injected.headers?.allow).toBe(real.headers.get('allow'));
    }
  });

  it('accepts an explicit query and Buffer bodies and works without listening', async () => {
    const server = new HttpServer({ host: '127.0.0.1', port: 0, log: silent });
    server.addRoute(echo);
    const res = await server.inject({ method: 'post', path: '/echo', query: '?a=b', body: Buffer.from('raw') });
    expect(res.status).toBe(200);
    expect(JSON.parse(String(res.body))).toEqual({ body: 'raw', query: 'a=b', tag: null, method: 'POST' });
  });
});

describe('uws loader', () => {
  it('throws a clear error instead of falling back when the binary is missing', () => {
    expect(() => loadUws('uWebSockets.js/binaries/uws_nowhere_0.node')).toThrow(
      /uWebSockets\.js native binary failed to load: .*Parley refuses the slow fallback/s,
    );
  });
});
