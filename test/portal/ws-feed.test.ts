import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { HttpServer } from '../../src/server/http-server.ts';
import { MessageRateFeed } from '../../src/server/ws-feed.ts';

describe('message-rate WebSocket feed on the uWS server', () => {
  const log = pino({ level: 'silent' });
  let server: HttpServer;
  let feed: MessageRateFeed;
  let port: number;
  let count = 0;

  beforeAll(async () => {
    server = new HttpServer({ host: '127.0.0.1', port: 0, log });
    server.addRoute({ method: 'GET', path: '/admin/api/v1/live', maxBodyBytes: 0, handler: async () => ({ status: 426, body: 'upgrade required' }) });
    feed = new MessageRateFeed({ path: '/admin/api/v1/live', count: () => count, authorize: (h) => h.cookie === 'parley_admin=ok', log, intervalMs: 100 });
    feed.attach(server);
    port = await server.listen();
  });
  afterAll(async () => {
    feed.stop();
    await server.close();
  });

  const connect = (headers: Record<string, string>) => new WebSocket(`ws://127.0.0.1:${port}/admin/api/v1/live`, { headers });
  const refusal = (ws: WebSocket) =>
    new Promise<number>((resolve, reject) => {
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => reject(new Error('upgrade was accepted')));
      ws.on('error', () => undefined);
    });

  it('pushes the messages counted in the last minute to a signed-in subscriber', async () => {
    const ws = connect({ cookie: 'parley_admin=ok', origin: `http://127.0.0.1:${port}` });
    const seen: number[] = [];
    ws.on('message', (d) => seen.push((JSON.parse(String(d)) as { perMinute: number }).perMinute));
    await new Promise((r) => ws.on('open', r));
    count += 300;
    await expect.poll(() => seen.some((v) => v > 0), { timeout: 5_000 }).toBe(true);
    expect(feed.perMinute()).toBeGreaterThan(0);
    ws.close();
  });

  it('refuses an upgrade without a session (401) and from another origin (403)', async () => {
    expect(await refusal(connect({ origin: `http://127.0.0.1:${port}` }))).toBe(401);
    expect(await refusal(connect({ cookie: 'parley_admin=ok', origin: 'http://evil.example' }))).toBe(403);
  });

  it('leaves plain HTTP on the same path to the HTTP routes', async () => {
    const res = await fetch(`http://127.0.0.1:${port}/admin/api/v1/live`);
    expect(res.status).toBe(426);
  });
});
