// The XMPP benchmark's set-up: a hub with the real XMPP connector and the
// loopback connector as the Teams side, the messages it sends, and a meter of
// the CPU used by each party.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { MemorySink } from '../../analytics/sink.ts';
import { parseConfig } from '../../src/config/load.ts';
import { LoopbackConnector, type LoopbackDelivery } from '../../src/connectors/loopback/loopback.ts';
import { XmppConnector } from '../../src/connectors/xmpp/connector.ts';
import type { Envelope } from '../../src/core/envelope.ts';
import { Hub } from '../../src/runtime/hub.ts';
import { connectRedis } from '../../src/state/redis.ts';
import type { TestProsody } from '../../test/support/prosody.ts';
import { cpuSample, cpuShare, type CpuSample } from './cpu.ts';
import { round } from './stats.ts';

export type Row = [metric: string, value: number, what: string];
export const now = (): number => performance.timeOrigin + performance.now();

export interface Stack {
  hub: Hub;
  loopback: LoopbackConnector;
  xmpp: XmppConnector;
  stop(): Promise<void>;
}

export async function startStack(redisUrl: string, prosody: TestProsody): Promise<Stack> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'parley-bench-xmpp-'));
  const config = parseConfig({ dataDir, logLevel: 'silent', redis: { url: redisUrl, keyPrefix: `bx${Date.now()}` }, federation: { localDomains: ['parley.local'] } });
  const loopback = new LoopbackConnector({ platforms: ['teams'], sink: 'memory', stream: '', http: false });
  const xmpp = new XmppConnector({
    // The per-domain rate limit is not what is measured here: one sender at full speed would trip it.
    config: {
      ...config.connectors.xmpp, enabled: true, service: `xmpp://127.0.0.1:${prosody.componentPort}`, domain: 'parley.local',
      secret: prosody.components['parley.local'] ?? '', barrierDomain: 'partner.example', messagesPerSecondPerDomain: 1_000_000, burstPerDomain: 1_000_000,
    },
    redis: connectRedis(redisUrl, 'bench-xmpp'),
    keyPrefix: config.redis.keyPrefix,
    log: pino({ level: 'silent' }),
  });
  const hub = await Hub.start({ config, redisUrl, connectors: [loopback, xmpp], sink: new MemorySink(100_000), log: pino({ level: 'silent' }), addRoute: () => undefined });
  await xmpp.waitOnline(15_000);
  return {
    hub, loopback, xmpp,
    async stop() {
      await hub.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Teams-side arrival times of messages `<prefix><i>` from XMPP. `cancel()`
 * (in the caller's finally) stops listening; `done` fails after `timeoutMs`.
 */
export function teamsArrivals(loopback: LoopbackConnector, prefix: string, count: number, timeoutMs = 180_000): { times: Float64Array; done: Promise<void>; cancel(): void } {
  const times = new Float64Array(count);
  let got = 0;
  let finish: (err?: Error) => void = () => undefined;
  const done = new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => finish(new Error(`only ${got} of ${count} messages reached the Teams side`)), timeoutMs);
    finish = (err) => {
      clearTimeout(t);
      off();
      if (err) reject(err);
      else resolve();
    };
  });
  // Awaited by the caller when all goes well; a run that failed elsewhere must not leave it unhandled.
  done.catch(() => undefined);
  const off = loopback.onDelivered((list: readonly LoopbackDelivery[]) => {
    const t = now();
    for (const d of list) {
      const at = d.env.id.indexOf(prefix);
      if (at < 0) continue;
      const i = Number(d.env.id.slice(at + prefix.length));
      if (i >= 0 && i < count && times[i] === 0) {
        times[i] = t;
        if (++got === count) finish();
      }
    }
  });
  loopback.delivered.length = 0;
  return { times, done, cancel: () => finish(new Error('cancelled')) };
}

const alice = { platform: 'teams' as const, id: 'alice@parley.local', domain: 'parley.local' };
const bob = { platform: 'xmpp' as const, id: 'recv@partner.example', domain: 'partner.example' };

const teamsUser = (i: number, chats: number) => (chats <= 1 ? alice : { platform: 'teams' as const, id: `u${i % chats}@parley.local`, domain: 'parley.local' });

export function hubMessage(prefix: string, i: number, chats = 1): Envelope {
  return { type: 'im', id: `${prefix}${i}`, ts: Date.now(), from: teamsUser(i, chats), to: bob, body: { blocks: [{ t: 'p', c: [{ t: 'text', v: 'benchmark message: the quick brown fox jumps over the lazy dog, 0123456789' }] }] } };
}

/** Sends from the hub (the Teams side) in batches, paced or flat out; returns send times. */
export async function sendFromHub(hub: Hub, prefix: string, count: number, ratePerSec: number, chats = 1): Promise<Float64Array> {
  const sent = new Float64Array(count);
  const started = now();
  const batch = ratePerSec > 0 ? Math.max(1, Math.round(ratePerSec / 200)) : 500;
  const inflight: Array<Promise<unknown>> = [];
  for (let i = 0; i < count; i += batch) {
    if (ratePerSec > 0) {
      const wait = started + (i * 1000) / ratePerSec - now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    }
    const envs: Envelope[] = [];
    const t = now();
    for (let k = i; k < Math.min(count, i + batch); k++) {
      envs.push(hubMessage(prefix, k, chats));
      sent[k] = t;
    }
    inflight.push(hub.ingestMany(envs));
    if (inflight.length >= 8) await inflight.shift();
  }
  await Promise.all(inflight);
  return sent;
}

/** Cores used over a phase: this process (hub, shards, peers) with its redis-server; Prosody; the whole machine. */
export function cpuMeter(redisPid: number | undefined, prosodyPid: number | undefined): (label: string) => Row[] {
  const take = (): [CpuSample, CpuSample, CpuSample] => [cpuSample([redisPid]), cpuSample([prosodyPid]), cpuSample([])];
  const a = take();
  return (label) => {
    const b = take();
    const parley = cpuShare(a[0], b[0]);
    const prosody = cpuShare(a[1], b[1]).ownCores - cpuShare(a[2], b[2]).ownCores;
    return [
      [`${label}_cores_parley`, round(parley.ownCores, 2), 'CPU: Parley (+ bench peers) and its redis-server'],
      [`${label}_cores_prosody`, round(prosody, 2), 'CPU: Prosody'],
      [`${label}_cores_machine`, round(parley.ownCores + parley.foreignCores, 2), 'CPU: whole machine (2 cores)'],
    ];
  };
}
