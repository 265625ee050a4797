import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type App } from '../../src/app.ts';
import { parseConfig } from '../../src/config/load.ts';
import { im, teamsUser, xmppUser } from '../support/hub.ts';
import { startTestRedis, type TestRedis } from '../support/redis.ts';

describe('the Parley process: health, readiness, metrics and the loopback HTTP ingress', () => {
  let redis: TestRedis;
  let app: App;
  let dataDir: string;
  let base: string;
  beforeAll(async () => {
    redis = await startTestRedis();
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'parley-app-'));
    const config = parseConfig({
      dataDir,
      logLevel: 'silent',
      http: { host: '127.0.0.1', port: 0 },
      admin: { port: 0 },
      redis: { url: redis.url, keyPrefix: `app${Date.now()}` },
      runtime: { shards: 2 },
      connectors: { loopback: { enabled: true, platforms: ['teams', 'xmpp'], sink: 'memory' } },
    });
    app = await startApp(config, { log: pino({ level: 'silent' }) });
    base = `http://127.0.0.1:${app.httpPort}`;
  });
  afterAll(async () => {
    await app?.stop();
    await redis?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('answers /healthz and /readyz with the state of Redis and each connector', async () => {
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    const body = (await ready.json()) as { ready: boolean; redis: string; connectors: Record<string, { state: string }> };
    expect(body).toMatchObject({ ready: true, redis: 'ready', connectors: { loopback: { state: 'up' } } });
  });

  it('takes envelopes over HTTP, acknowledges each, and rejects bad ones with reasons', async () => {
    const good = im('http-1', xmppUser(1), teamsUser(1));
    const res = await fetch(`${base}/loopback/v1/ingest`, {
      method: 'POST',
      body: JSON.stringify([good, { ...good, id: 'http-2', to: { platform: 'teams' } }]),
    });
    expect(res.status).toBe(200);
    const { acks } = (await res.json()) as { acks: Array<{ id: string; outcome: string; error?: { code: string; message: string } }> };
    expect(acks[0]).toEqual({ id: 'http-1', outcome: 'accepted' });
    expect(acks[1]).toMatchObject({ id: 'http-2', outcome: 'rejected', error: { code: 'ENVELOPE_INVALID' } });
    expect(acks[1]?.error?.message).toMatch(/to\.id/);
    const notJson = await fetch(`${base}/loopback/v1/ingest`, { method: 'POST', body: '{"type":' });
    expect(notJson.status).toBe(400);
    const huge = await fetch(`${base}/loopback/v1/ingest`, { method: 'POST', body: 'x'.repeat(5 * 1024 * 1024) });
    expect(huge.status).toBe(413);
  });

  it('exposes Prometheus metrics with ingress, delivery and queue figures', async () => {
    const text = await (await fetch(`${base}/metrics`)).text();
    expect(text).toMatch(/parley_ingress_total\{outcome="accepted"\} [1-9]/);
    expect(text).toMatch(/parley_queue_jobs\{connector="loopback",state="waiting"\}/);
    expect(text).toMatch(/parley_actors_resident\{shard="1"\}/);
    expect(text).toContain('parley_process_cpu_seconds_total');
  });

  it('reports not ready while Redis is down, and ready again once it is back', async () => {
    await redis.server.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 300));
    const down = await fetch(`${base}/readyz`);
    expect(down.status).toBe(503);
    expect(((await down.json()) as { redis: string }).redis).not.toBe('ready');
    await redis.server.restart();
    const deadline = Date.now() + 15_000;
    let status = 0;
    while (Date.now() < deadline && status !== 200) {
      status = (await fetch(`${base}/readyz`)).status;
      if (status !== 200) await new Promise((r) => setTimeout(r, 100));
    }
    expect(status).toBe(200);
  });
});
