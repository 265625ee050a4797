import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { MemorySink } from '../../analytics/sink.ts';
import { parseConfig } from '../../src/config/load.ts';
import type { Config, ConfigInput } from '../../src/config/schema.ts';
import { LoopbackConnector } from '../../src/connectors/loopback/loopback.ts';
import type { Platform } from '../../src/core/address.ts';
import type { Connector } from '../../src/core/connector.ts';
import type { Envelope } from '../../src/core/envelope.ts';
import type { RouteSpec } from '../../src/core/http.ts';
import { Hub } from '../../src/runtime/hub.ts';

export interface TestHub {
  hub: Hub;
  loopback: LoopbackConnector;
  sink: MemorySink;
  routes: RouteSpec[];
  stop(): Promise<void>;
}

let counter = 0;

export interface TestHubExtras {
  /** Platforms the loopback connector serves (default teams, xmpp, sip). */
  loopbackPlatforms?: readonly Platform[];
  /** More connectors beside the loopback one, or a function making them once the config is known. */
  connectors?: readonly Connector[] | ((config: Config, redisUrl: string) => Connector[]);
}

/** A hub on a real Redis with the in-memory loopback connector serving the given platforms. */
export async function startTestHub(redisUrl: string, input: ConfigInput = {}, extras: TestHubExtras = {}): Promise<TestHub> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'parley-data-'));
  const config = parseConfig({
    dataDir,
    logLevel: 'silent',
    ...input,
    redis: { url: redisUrl, keyPrefix: `t${process.pid}x${++counter}x${Date.now()}`, ...input.redis },
    delivery: { backoffBaseMs: 20, backoffMaxMs: 200, stalledIntervalMs: 1000, ...input.delivery },
    federation: { localDomains: ['parley.local'], ...input.federation },
  });
  const loopback = new LoopbackConnector({ platforms: extras.loopbackPlatforms ?? ['teams', 'xmpp', 'sip'], sink: 'memory', stream: '', http: true });
  const extra = typeof extras.connectors === 'function' ? extras.connectors(config, redisUrl) : (extras.connectors ?? []);
  const sink = new MemorySink();
  const routes: RouteSpec[] = [];
  const hub = await Hub.start({
    config,
    redisUrl,
    connectors: [loopback, ...extra],
    sink,
    log: pino({ level: 'silent' }),
    addRoute: (r) => routes.push(r),
  });
  return {
    hub,
    loopback,
    sink,
    routes,
    async stop() {
      await hub.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export const teamsUser = (n: number | string) => ({ platform: 'teams' as const, id: `user${n}@parley.local`, domain: 'parley.local' });
export const xmppUser = (n: number | string, domain = 'partner.example') => ({ platform: 'xmpp' as const, id: `ext${n}@${domain}`, domain });

export function im(id: string, from: Envelope['from'], to: Envelope['to'], text = id): Envelope {
  return { type: 'im', id, ts: Date.now(), from, to, body: { blocks: [{ t: 'p', c: [{ t: 'text', v: text }] }] } };
}

export async function until(cond: () => boolean, timeoutMs = 30_000, what = 'condition', refresh?: () => Promise<void>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    await refresh?.();
    if (cond()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
