import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { MemorySink } from '../../analytics/sink.ts';
import { parseConfig } from '../../src/config/load.ts';
import type { ConfigInput } from '../../src/config/schema.ts';
import { LoopbackConnector } from '../../src/connectors/loopback/loopback.ts';
import type { Address } from '../../src/core/address.ts';
import type { Envelope } from '../../src/core/envelope.ts';
import { Hub } from '../../src/runtime/hub.ts';
import { ManagedRedis } from '../../src/state/managed-redis.ts';

/** A redis-server of the benchmark's own (AOF everysec, as in production), in a temp dir. */
export const startBenchRedis = (): Promise<ManagedRedis> => ManagedRedis.temporary();

export interface BenchHub {
  hub: Hub;
  loopback: LoopbackConnector;
  sink: MemorySink;
  stop(): Promise<void>;
}

/**
 * A real Hub (durability on: Redis, BullMQ, encryption with a key generated in
 * its own data dir) with the in-memory loopback connector serving teams and xmpp.
 */
export async function startBenchHub(redisUrl: string, keyPrefix: string, input: ConfigInput = {}): Promise<BenchHub> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'parley-bench-data-'));
  const config = parseConfig({
    dataDir,
    logLevel: 'silent',
    ...input,
    redis: { url: redisUrl, keyPrefix, ...input.redis },
    federation: { localDomains: ['parley.local'], ...input.federation },
  });
  const loopback = new LoopbackConnector({ platforms: ['teams', 'xmpp'], sink: 'memory', stream: '', http: false });
  // Bounded as when Parley runs without ClickHouse (analytics/open.ts): a
  // million retained rows would make the runs after the first pay for the
  // garbage collector scanning them, which no deployment does.
  const sink = new MemorySink(100_000);
  let hub: Hub;
  try {
    hub = await Hub.start({ config, redisUrl, connectors: [loopback], sink, log: pino({ level: 'silent' }), addRoute: () => undefined });
  } catch (err) {
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  return {
    hub,
    loopback,
    sink,
    async stop() {
      await hub.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export const LOCAL_DOMAIN = 'parley.local';
export const teamsUser = (n: number): Address => ({ platform: 'teams', id: `u${n}@${LOCAL_DOMAIN}`, domain: LOCAL_DOMAIN });
export const xmppUser = (n: number): Address => ({ platform: 'xmpp', id: `ext${n}@partner.example`, domain: 'partner.example' });

/**
 * Message `i` of a run over `chats` 1:1 chats (teams user c <-> xmpp user c):
 * consecutive messages go to different chats, and each chat's messages
 * alternate between teams->xmpp and xmpp->teams.
 */
export function chatMessage(id: string, i: number, chats: number): Envelope {
  const c = i % chats;
  const toXmpp = Math.floor(i / chats) % 2 === 0;
  const from = toXmpp ? teamsUser(c) : xmppUser(c);
  const to = toXmpp ? xmppUser(c) : teamsUser(c);
  return {
    type: 'im',
    id,
    ts: Date.now(),
    from,
    to,
    body: { blocks: [{ t: 'p', c: [{ t: 'text', v: `benchmark message ${i} in chat ${c}: the quick brown fox jumps over the lazy dog` }] }] },
  };
}

export interface MachineInfo {
  date: string;
  hostname: string;
  platform: string;
  cpus: number;
  availableParallelism: number;
  cpuModel: string;
  totalMemMb: number;
  loadAvg: number[];
  node: string;
  redis: string;
}

export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  const redis = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  const version = /v=(\S+)/.exec(redis.stdout ?? '')?.[1] ?? 'unknown';
  return {
    date: new Date().toISOString(),
    hostname: os.hostname(),
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    cpus: cpus.length,
    availableParallelism: os.availableParallelism(),
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    totalMemMb: Math.round(os.totalmem() / (1024 * 1024)),
    loadAvg: os.loadavg().map((l) => Math.round(l * 100) / 100),
    node: process.version,
    redis: version,
  };
}
