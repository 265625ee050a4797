import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.ts';
import { teamsConfigSchema } from '../../src/config/teams-schema.ts';
import { buildConnectors } from '../../src/connectors/index.ts';
import { TeamsConnector } from '../../src/connectors/teams/connector.ts';
import { ServiceUrlAllowlist } from '../../src/connectors/teams/transport/allowlist.ts';
import { BotConnectorClient, BotConnectorError, parseRetryAfter } from '../../src/connectors/teams/transport/bot-connector-client.ts';
import { classifyConnectorError } from '../../src/connectors/teams/transport/errors.ts';
import { Pacer } from '../../src/connectors/teams/transport/pacing.ts';
import { ConfigError } from '../../src/core/errors.ts';
import { connectRedis } from '../../src/state/redis.ts';
import { startBotConnector, teamsMessage, type BotConnectorStandIn } from '../support/bot-connector.ts';
import { startTestRedis, type TestRedis } from '../support/redis.ts';
import { startTeamsBot } from '../support/teams.ts';
import { TestTeamsExperience } from '../support/teams-test-experience.ts';

describe('teams transport: configuration and the serviceUrl allowlist', () => {
  let redis: TestRedis;
  let stand: BotConnectorStandIn;

  beforeAll(async () => {
    redis = await startTestRedis();
    stand = await startBotConnector();
  }, 60_000);

  afterAll(async () => {
    await stand?.stop();
    await redis?.stop();
  });

  it('refuses to start without app credentials outside development mode', () => {
    const r = connectRedis(redis.url, 't');
    try {
      expect(
        () => new TeamsConnector({ config: teamsConfigSchema.parse({ enabled: true }), developmentMode: false, redis: r, keyPrefix: 'x', experience: new TestTeamsExperience() }),
      ).toThrow(/appId and appPassword.*developmentMode/);
      expect(
        () => new TeamsConnector({ config: teamsConfigSchema.parse({ enabled: true, appId: 'a' }), developmentMode: false, redis: r, keyPrefix: 'x', experience: new TestTeamsExperience() }),
      ).toThrow(ConfigError);
    } finally {
      r.disconnect();
    }
    const cfg = loadConfig({ PARLEY_TEAMS: 'true' }, { redis: { url: redis.url } });
    expect(() => buildConnectors(cfg, redis.url, () => new TestTeamsExperience())).toThrow(/developmentMode/);
    expect(() => buildConnectors(loadConfig({ PARLEY_TEAMS: 'true', MICROSOFT_APP_ID: 'a', MICROSOFT_APP_PASSWORD: 'p' }), redis.url)).toThrow(/no Teams experience/);
  });

  it('reads the endpoints from the environment', () => {
    const cfg = loadConfig({
      PARLEY_TEAMS: '1',
      MICROSOFT_APP_ID: 'app',
      MICROSOFT_APP_PASSWORD: 'pw',
      PARLEY_TEAMS_OPENID_METADATA_URL: 'https://login.example/v1/.well-known/openidconfiguration',
      PARLEY_TEAMS_TOKEN_ISSUER: 'https://issuer.example',
      PARLEY_TEAMS_LOGIN_URL: 'https://login.example/tenant',
      PARLEY_TEAMS_OAUTH_SCOPE: 'https://api.example',
      PARLEY_TEAMS_SERVICE_URL_HOSTS: 'smba.example, *.bots.example',
    });
    expect(cfg.connectors.teams).toMatchObject({
      enabled: true,
      appId: 'app',
      appPassword: 'pw',
      openIdMetadataUrl: 'https://login.example/v1/.well-known/openidconfiguration',
      tokenIssuer: 'https://issuer.example',
      loginUrl: 'https://login.example/tenant',
      oauthScope: 'https://api.example',
      serviceUrlHosts: ['smba.example', '*.bots.example'],
    });
    expect(loadConfig({}).connectors.teams.serviceUrlHosts).toContain('smba.trafficmanager.net');
  });

  it('starts in development mode without credentials, loudly, and serves without a token', async () => {
    const lines: string[] = [];
    const log = pino({ level: 'warn' }, new Writable({ write: (c: Buffer, _e, cb) => (lines.push(c.toString()), cb()) }));
    const exp = new TestTeamsExperience({ replies: false });
    const r = connectRedis(redis.url, 't');
    const c = new TeamsConnector({ config: teamsConfigSchema.parse({ enabled: true }), developmentMode: true, redis: r, keyPrefix: `dev${Date.now()}`, experience: exp, log });
    const routes: Array<{ path: string; handler: (req: never) => Promise<{ status: number }> }> = [];
    await c.start({ route: (s) => routes.push(s as never), ingest: async () => ({ id: '', outcome: 'accepted' }), ingestMany: async (l) => l.map(() => ({ id: '', outcome: 'accepted' as const })), log });
    try {
      expect(lines.join('')).toMatch(/WITHOUT AUTHENTICATION/);
      expect(c.status()).toMatchObject({ state: 'up', detail: expect.stringMatching(/development mode/) });
      const activity = { ...teamsMessage({ url: 'http://127.0.0.1:9', appId: 'none' }, 'dev hello') };
      const res = await routes[0]!.handler({ method: 'POST', path: '/api/messages', query: '', headers: {}, body: Buffer.from(JSON.stringify(activity)) } as never);
      expect(res.status).toBe(200);
      expect(exp.turns.length).toBe(1);
    } finally {
      await c.stop();
    }
  });

  it('refuses an activity whose serviceUrl is not allowed: 403, and no call carries the token', async () => {
    const bot = await startTeamsBot(redis.url, { stand, teams: { serviceUrlHosts: ['smba.trafficmanager.net'] } });
    try {
      const before = stand.requests.length;
      const a = teamsMessage(stand, 'hello');
      const res = await bot.post(a);
      expect(res.status).toBe(403);
      expect(res.text).toMatch(/not on connectors.teams.serviceUrlHosts/);
      await new Promise((r) => setTimeout(r, 100));
      expect(stand.requests.length).toBe(before);
      expect(bot.connector.counters().refusedServiceUrls).toBe(1);
    } finally {
      await bot.stop();
    }
  });

  it('the outbound client checks the allowlist before it even fetches the token', async () => {
    let tokens = 0;
    const client = new BotConnectorClient({
      allowlist: new ServiceUrlAllowlist(['smba.trafficmanager.net'], false),
      token: async () => (tokens++, 'secret-token'),
      timeoutMs: 1000,
    });
    await expect(client.send(`${stand.url}/`, 'conv', { type: 'message', text: 'x' })).rejects.toMatchObject({ status: 403 });
    await expect(client.send('http://smba.trafficmanager.net/amer/', 'conv', { type: 'message' })).rejects.toThrow(/scheme/);
    expect(tokens).toBe(0);
    client.close();
  });

  it('allowlist: Microsoft hosts by default, wildcards, loopback only in development mode or when listed', () => {
    const prod = new ServiceUrlAllowlist(teamsConfigSchema.parse({}).serviceUrlHosts, false);
    expect(prod.check('https://smba.trafficmanager.net/amer/').ok).toBe(true);
    expect(prod.check('https://europe.webchat.botframework.com/').ok).toBe(true);
    expect(prod.check('https://evilbotframework.com/').ok).toBe(false);
    expect(prod.check('https://botframework.com.evil.example/').ok).toBe(false);
    expect(prod.check('https://127.0.0.1:3000/').ok).toBe(false);
    expect(prod.check('http://smba.trafficmanager.net/').ok).toBe(false);
    expect(prod.check('https://user:pw@smba.trafficmanager.net/').ok).toBe(false);
    expect(prod.check(undefined).ok).toBe(false);
    const dev = new ServiceUrlAllowlist(['smba.trafficmanager.net'], true);
    expect(dev.check('http://127.0.0.1:56150/_connector').ok).toBe(true);
    expect(dev.check('http://10.0.0.1/').ok).toBe(false);
    const listed = new ServiceUrlAllowlist(['127.0.0.1:4443'], false);
    expect(listed.check('https://127.0.0.1:4443/').ok).toBe(true);
    expect(listed.check('https://127.0.0.1:4444/').ok).toBe(false);
    expect(listed.check('http://127.0.0.1:4443/').ok).toBe(false);
  });

  it('classifies Bot Connector failures and reads Retry-After', () => {
    expect(parseRetryAfter('2')).toBe(2000);
    expect(parseRetryAfter(new Date(Date.now() + 3000).toUTCString())).toBeGreaterThan(1000);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(classifyConnectorError(new BotConnectorError('x', 429, 2000))).toMatchObject({ code: 'RATE_LIMITED', retryable: true, retryAfterMs: 2000 });
    for (const s of [0, 412, 502, 503, 504]) expect(classifyConnectorError(new BotConnectorError('x', s)).retryable).toBe(true);
    for (const s of [400, 401, 403, 413]) expect(classifyConnectorError(new BotConnectorError('x', s))).toMatchObject({ retryable: false, code: 'DELIVERY_REJECTED' });
    expect(classifyConnectorError(new BotConnectorError('x', 404))).toMatchObject({ retryable: false, code: 'RECIPIENT_UNKNOWN' });
  });

  it('pacing: per conversation and per tenant, refusing waits beyond the limit', () => {
    let now = 1000;
    const p = new Pacer(1000 / 7, 1000 / 50, 500, () => now);
    expect(p.reserve('c1', 't')).toBe(0);
    expect(p.reserve('c1', 't')).toBeCloseTo(1000 / 7, 0);
    expect(p.reserve('c2', 't')).toBe(40); // tenant spacing: third send of the tenant
    p.holdOff('c3', 2000);
    expect(p.reserve('c3', 't')).toBeUndefined();
    expect(p.waitHint('c3', 't')).toBe(2000);
    now += 2000;
    expect(p.reserve('c3', 't')).toBe(0);
  });
});
