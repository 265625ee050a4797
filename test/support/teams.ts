import { pino } from 'pino';
import type { TeamsConfig } from '../../src/config/teams-schema.ts';
import { teamsConfigSchema } from '../../src/config/teams-schema.ts';
import { TeamsConnector } from '../../src/connectors/teams/connector.ts';
import type { TeamsExperience } from '../../src/connectors/teams/contract.ts';
import { HttpServer } from '../../src/server/http-server.ts';
import { connectRedis } from '../../src/state/redis.ts';
import type { BotConnectorStandIn, SignOptions } from './bot-connector.ts';
import { startTestHub, type TestHub } from './hub.ts';
import { TestTeamsExperience } from './teams-test-experience.ts';

export interface TeamsBot {
  t: TestHub;
  connector: TeamsConnector;
  experience: TeamsExperience;
  /** http://127.0.0.1:<port> of Parley's own HTTP server (uWebSockets.js). */
  base: string;
  /** POSTs an activity to /api/messages; `auth` overrides the Authorization header (null: none). */
  post(activity: unknown, o?: { auth?: string | null; token?: SignOptions; raw?: string | Buffer }): Promise<{ status: number; text: string }>;
  stop(): Promise<void>;
}

export interface TeamsBotOptions {
  stand?: BotConnectorStandIn;
  teams?: Partial<TeamsConfig>;
  developmentMode?: boolean;
  experience?: TeamsExperience;
  delivery?: Record<string, number>;
}

/** A hub on real Redis with the Teams connector (and the loopback connector for xmpp/sip), served over real HTTP. */
export async function startTeamsBot(redisUrl: string, o: TeamsBotOptions = {}): Promise<TeamsBot> {
  const experience = o.experience ?? new TestTeamsExperience();
  const config = teamsConfigSchema.parse({ ...(o.stand ? o.stand.teamsConfig() : { enabled: true }), ...o.teams });
  let connector: TeamsConnector | undefined;
  const t = await startTestHub(
    redisUrl,
    { developmentMode: o.developmentMode ?? false, ...(o.delivery ? { delivery: o.delivery } : {}) },
    {
      loopbackPlatforms: ['xmpp', 'sip'],
      connectors: (cfg, url) => {
        connector = new TeamsConnector({
          config,
          developmentMode: cfg.developmentMode,
          redis: connectRedis(url, 'test-teams'),
          keyPrefix: cfg.redis.keyPrefix,
          experience,
          log: pino({ level: process.env.TEAMS_TEST_LOG ?? 'silent' }),
        });
        return [connector];
      },
    },
  );
  const server = new HttpServer({ host: '127.0.0.1', port: 0, log: pino({ level: 'silent' }) });
  for (const r of t.routes) server.addRoute(r);
  const port = await server.listen();
  const base = `http://127.0.0.1:${port}`;
  const stand = o.stand;
  return {
    t,
    connector: connector as TeamsConnector,
    experience,
    base,
    async post(activity, p = {}) {
      const a = activity as { serviceUrl?: string };
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      const auth = p.auth !== undefined ? p.auth : stand ? `Bearer ${stand.sign({ serviceUrl: a.serviceUrl ?? null, ...p.token })}` : null;
      if (auth !== null) headers.authorization = auth;
      const res = await fetch(`${base}${config.path}`, { method: 'POST', headers, body: p.raw ?? JSON.stringify(activity) });
      return { status: res.status, text: await res.text() };
    },
    async stop() {
      await server.close();
      await t.stop();
    },
  };
}
