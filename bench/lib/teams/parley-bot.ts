/**
 * Parley's Teams ingress for bench/teams.ts, in a process of its own: the
 * whole app (uWebSockets.js server, hub with its shard workers, Redis
 * durability) with the Teams connector and the test experience (a message
 * becomes an im envelope to an XMPP user; the loopback connector plays XMPP).
 * Env: BENCH_TEAMS_CONFIG, BENCH_REDIS_URL, BENCH_PREFIX, BENCH_REPLIES (1: echo a reply),
 * BENCH_EXPERIENCE (real: Parley's own experience — commands, directory, HTML — instead of the test one),
 * BENCH_XMPP (JSON {service, secret}: the real XMPP connector to that Prosody instead of the loopback one).
 */
import { MemorySink } from '../../../analytics/sink.ts';
import { parseConfig } from '../../../src/config/load.ts';
import { startApp } from '../../../src/app.ts';
import { LoopbackConnector } from '../../../src/connectors/loopback/loopback.ts';
import { TeamsConnector } from '../../../src/connectors/teams/connector.ts';
import { XmppConnector } from '../../../src/connectors/xmpp/connector.ts';
import { json } from '../../../src/core/http.ts';
import { connectRedis } from '../../../src/state/redis.ts';
import { createTeamsExperience } from '../../../src/connectors/teams/experience/index.ts';
import { RedisUserDirectory } from '../../../src/state/user-directory.ts';
import { TestTeamsExperience } from '../../../test/support/teams-test-experience.ts';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const teams = JSON.parse(process.env.BENCH_TEAMS_CONFIG ?? '{}') as Record<string, unknown>;
const redisUrl = process.env.BENCH_REDIS_URL ?? '';
const xmppLink = process.env.BENCH_XMPP ? (JSON.parse(process.env.BENCH_XMPP) as { service: string; secret: string }) : undefined;
let xmpp: XmppConnector | undefined;
const config = parseConfig({
  dataDir: mkdtempSync(path.join(os.tmpdir(), 'parley-bench-teams-')),
  logLevel: 'silent',
  http: { host: '127.0.0.1', port: 0 },
  redis: { url: redisUrl, keyPrefix: process.env.BENCH_PREFIX ?? 'bench' },
  federation: { localDomains: ['parley.local'] },
  connectors: { teams, ...(xmppLink ? { xmpp: { enabled: true, domain: 'parley.local', barrierDomain: 'partner.example', ...xmppLink } } : {}) },
});
const loopback = new LoopbackConnector({ platforms: ['xmpp'], sink: 'memory', stream: '', http: false });
let delivered = 0;
loopback.onDelivered((d) => {
  delivered += d.length;
  loopback.delivered.length = 0;
});
const testExperience = new TestTeamsExperience({ replies: process.env.BENCH_REPLIES === '1' });
const app = await startApp(config, {
  sink: new MemorySink(10_000),
  connectors: (url) => {
    const redis = connectRedis(url, 'bench-teams', { enableAutoPipelining: true });
    const experience =
      process.env.BENCH_EXPERIENCE === 'real'
        ? createTeamsExperience({
            redis,
            keyPrefix: config.redis.keyPrefix,
            directory: new RedisUserDirectory(redis, config.redis.keyPrefix),
            domain: 'parley.local',
            publicBaseUrl: 'http://127.0.0.1',
            signingKey: Buffer.alloc(32, 7),
          })
        : testExperience;
    const teamsConnector = new TeamsConnector({ config: config.connectors.teams, developmentMode: false, redis, keyPrefix: config.redis.keyPrefix, experience });
    if (!xmppLink) return [loopback, teamsConnector];
    xmpp = new XmppConnector({ config: config.connectors.xmpp, redis: connectRedis(url, 'bench-xmpp'), keyPrefix: config.redis.keyPrefix });
    return [teamsConnector, xmpp];
  },
});
await xmpp?.waitOnline(15_000);
testExperience.turns.length = 0;
setInterval(() => (testExperience.turns.length = 0), 1000).unref();
app.server.addRoute({ method: 'GET', path: '/bench/delivered', maxBodyBytes: 0, handler: async () => json(200, { delivered, at: Date.now() }) });
console.log(`READY ${app.httpPort}`);
process.on('SIGTERM', () => {
  void app.stop().finally(() => process.exit(0));
});
