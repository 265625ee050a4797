import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { teamsConfigSchema } from '../../src/config/teams-schema.ts';
import { TeamsConnector } from '../../src/connectors/teams/connector.ts';
import { createTeamsExperience } from '../../src/connectors/teams/experience/index.ts';
import { XmppConnector } from '../../src/connectors/xmpp/connector.ts';
import { HttpServer } from '../../src/server/http-server.ts';
import { freePort } from '../../src/state/managed-redis.ts';
import { connectRedis } from '../../src/state/redis.ts';
import { RedisUserDirectory } from '../../src/state/user-directory.ts';
import { startBotConnector, type BotConnectorStandIn, type SentActivity } from '../support/bot-connector.ts';
import { startTestHub, until, type TestHub } from '../support/hub.ts';
import { startProsody, type TestProsody } from '../support/prosody.ts';
import { startTestRedis, type TestRedis } from '../support/redis.ts';

/**
 * The whole journey stack: a hub on a real Redis with the real Teams connector
 * and experience (the Bot Connector stand-in playing Teams) and the real XMPP
 * connector behind a real Prosody, plus a local HTTP server standing in for
 * SharePoint's download URLs.
 */
export interface JourneyStack {
  redis: TestRedis;
  prosody: TestProsody;
  stand: BotConnectorStandIn;
  t: TestHub;
  xmpp: XmppConnector;
  teams: TeamsConnector;
  /** Parley's own HTTP server (the /api/messages endpoint and the file links). */
  base: string;
  /** The SharePoint stand-in; `files` maps a path to its content. */
  sharepoint: { base: string; files: Map<string, Buffer>; hits: string[] };
  post(activity: Record<string, unknown>): Promise<{ status: number; text: string }>;
  stop(): Promise<void>;
}

export const ALICE_TEAMS = { id: '29:1alice', name: 'Alice Smith', aadObjectId: 'aad-alice-0000-0000' };
export const CHANNEL = '19:general-journey@thread.tacv2';

export async function startJourneyStack(): Promise<JourneyStack> {
  const redis = await startTestRedis();
  const prosody = await startProsody();
  const stand = await startBotConnector();
  stand.members.set(ALICE_TEAMS.id, { id: ALICE_TEAMS.id, name: ALICE_TEAMS.name, email: 'alice@contoso.com', userPrincipalName: 'alice@contoso.onmicrosoft.com', aadObjectId: ALICE_TEAMS.aadObjectId, tenantId: 'tenant-1' });
  const files = new Map<string, Buffer>();
  const hits: string[] = [];
  const upstream: Server = createServer((req, res) => {
    hits.push(req.url ?? '');
    const body = files.get(req.url ?? '');
    if (!body) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length }).end(body);
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  const spBase = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;

  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const teamsConfig = teamsConfigSchema.parse(stand.teamsConfig());
  let xmpp: XmppConnector | undefined;
  let teams: TeamsConnector | undefined;
  const t = await startTestHub(
    redis.url,
    {
      runtime: { shards: 2 },
      federation: { localDomains: ['parley.local', 'rooms.parley.local'], domains: [{ domain: 'blocked.example', action: 'block' }] },
    },
    {
      loopbackPlatforms: ['sip'],
      connectors: (config, url) => {
        xmpp = new XmppConnector({
          config: {
            ...config.connectors.xmpp,
            enabled: true,
            service: `xmpp://127.0.0.1:${prosody.componentPort}`,
            domain: 'parley.local',
            secret: prosody.components['parley.local'] ?? '',
            barrierDomain: 'partner.example',
            roomsDomain: 'rooms.parley.local',
            roomsSecret: prosody.components['rooms.parley.local'] ?? '',
            reconnectMinMs: 100,
            reconnectMaxMs: 1000,
            presenceCoalesceMs: 100,
          },
          redis: connectRedis(url, 'journey-xmpp'),
          keyPrefix: config.redis.keyPrefix,
        });
        // As buildConnectors does it, with files allowed from the loopback SharePoint stand-in.
        const teamsRedis = connectRedis(url, 'journey-teams', { enableAutoPipelining: true });
        const experience = createTeamsExperience({
          redis: teamsRedis,
          keyPrefix: config.redis.keyPrefix,
          directory: new RedisUserDirectory(teamsRedis, config.redis.keyPrefix),
          domain: 'parley.local',
          otherLocalDomains: ['rooms.parley.local'],
          domainPlatforms: teamsConfig.domainPlatforms,
          roomsDomain: 'rooms.parley.local',
          publicBaseUrl: base,
          signingKey: randomBytes(32),
          files: { allowHttp: true, downloadHosts: ['127.0.0.1'] },
          log: pino({ level: process.env.TEAMS_TEST_LOG ?? 'silent' }),
        });
        teams = new TeamsConnector({
          config: teamsConfig,
          developmentMode: false,
          redis: teamsRedis,
          keyPrefix: config.redis.keyPrefix,
          experience,
          log: pino({ level: process.env.TEAMS_TEST_LOG ?? 'silent' }),
        });
        return [xmpp, teams];
      },
    },
  );
  if (!xmpp || !teams) throw new Error('connectors not made');
  await xmpp.waitOnline(15_000);
  const server = new HttpServer({ host: '127.0.0.1', port, log: pino({ level: 'silent' }) });
  for (const r of t.routes) server.addRoute(r);
  await server.listen();
  return {
    redis,
    prosody,
    stand,
    t,
    xmpp,
    teams,
    base,
    sharepoint: { base: spBase, files, hits },
    async post(activity) {
      const token = stand.sign({ serviceUrl: String(activity.serviceUrl) });
      const res = await fetch(`${base}${teamsConfig.path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify(activity),
      });
      return { status: res.status, text: await res.text() };
    },
    async stop() {
      await server.close();
      await t.stop();
      await new Promise((r) => upstream.close(r));
      await stand.stop();
      await prosody.stop();
      await redis.stop();
    },
  };
}

let seq = Date.now();

/** A Teams activity from Alice in her personal chat with the bot, through the stand-in's serviceUrl. */
export function personal(stand: BotConnectorStandIn, extra: Record<string, unknown>): Record<string, unknown> {
  return {
    id: String(++seq),
    timestamp: new Date().toISOString(),
    channelId: 'msteams',
    serviceUrl: `${stand.url}/`,
    from: { ...ALICE_TEAMS },
    recipient: { id: `28:${stand.appId}`, name: 'Parley' },
    conversation: { id: 'a:1personal-alice', conversationType: 'personal', tenantId: 'tenant-1', isGroup: false },
    channelData: { tenant: { id: 'tenant-1' } },
    locale: 'en-US',
    ...extra,
  };
}

export const said = (stand: BotConnectorStandIn, text: string): Record<string, unknown> => personal(stand, { type: 'message', text, textFormat: 'plain' });

/** A channel message that mentions the bot, as Teams sends it. */
export function channelText(stand: BotConnectorStandIn, text: string): Record<string, unknown> {
  const html = `<at>Parley</at> ${text}`;
  return {
    ...personal(stand, {}),
    type: 'message',
    conversation: { id: `${CHANNEL};messageid=${seq}`, conversationType: 'channel', tenantId: 'tenant-1', isGroup: true },
    channelData: { tenant: { id: 'tenant-1' }, team: { id: '19:team@thread.tacv2', name: 'Contoso' }, channel: { id: CHANNEL, name: 'General' } },
    text: html,
    textFormat: 'plain',
    attachments: [{ contentType: 'text/html', content: `<p>${html}</p>` }],
    entities: [{ type: 'mention', text: '<at>Parley</at>', mentioned: { id: `28:${stand.appId}`, name: 'Parley' } }],
  };
}

/** Everything the bot's posts and cards say, as one string (text and card JSON). */
export const shownText = (s: SentActivity): string => `${String(s.activity.text ?? '')} ${JSON.stringify(s.activity.attachments ?? [])}`;

/** Waits for a bot post after index `from` matching the predicate. */
export async function botPosted(stand: BotConnectorStandIn, pred: (s: SentActivity) => boolean, what: string, from = 0, timeoutMs = 15_000): Promise<SentActivity> {
  let found: SentActivity | undefined;
  await until(() => (found = stand.sent.slice(from).find(pred)) !== undefined, timeoutMs, what);
  return found as SentActivity;
}

export const uniq = (): string => randomUUID().slice(0, 8);
