import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBotConnector, teamsMessage, type BotConnectorStandIn } from '../support/bot-connector.ts';
import { until } from '../support/hub.ts';
import { startTestRedis, type TestRedis } from '../support/redis.ts';
import { startTeamsBot, type TeamsBot } from '../support/teams.ts';

/** The Bot Framework JWT checks, run by botbuilder's own validation against the stand-in's keys. */
describe('teams transport: inbound authentication', () => {
  let redis: TestRedis;
  let stand: BotConnectorStandIn;
  let bot: TeamsBot;

  beforeAll(async () => {
    redis = await startTestRedis();
    stand = await startBotConnector();
    bot = await startTeamsBot(redis.url, { stand });
  }, 60_000);

  afterAll(async () => {
    await bot?.stop();
    await stand?.stop();
    await redis?.stop();
  });

  const cases: Array<[string, (a: Record<string, unknown>) => { auth?: string | null; token?: Parameters<BotConnectorStandIn['sign']>[0] }]> = [
    ['missing token', () => ({ auth: null })],
    ['not a bearer token', () => ({ auth: 'Basic dXNlcjpwYXNz' })],
    ['garbage token', () => ({ auth: 'Bearer not.a.jwt' })],
    ['bad signature', (a) => ({ token: { serviceUrl: a.serviceUrl as string, foreignKey: true } })],
    ['alg none', (a) => ({ token: { serviceUrl: a.serviceUrl as string, alg: 'none' } })],
    ['wrong audience', (a) => ({ token: { serviceUrl: a.serviceUrl as string, aud: 'some-other-bot' } })],
    ['wrong issuer', (a) => ({ token: { serviceUrl: a.serviceUrl as string, iss: 'https://evil.example' } })],
    ['expired beyond the 5 min tolerance', (a) => ({ token: { serviceUrl: a.serviceUrl as string, expiresIn: -10 * 60 } })],
    ['serviceUrl claim mismatch', () => ({ token: { serviceUrl: 'https://smba.trafficmanager.net/amer/' } })],
    ['no serviceUrl claim', () => ({ token: { serviceUrl: null } })],
    ['key not endorsed for msteams', (a) => ({ token: { serviceUrl: a.serviceUrl as string, kid: stand.otherChannelKid } })],
    ['unknown key id', (a) => ({ token: { serviceUrl: a.serviceUrl as string, kid: 'no-such-key' } })],
  ];

  for (const [name, variant] of cases) {
    it(`refuses ${name} with 401 and makes no outbound call`, async () => {
      const before = { requests: stand.requests.length, tokens: stand.tokenRequests, envs: bot.t.loopback.delivered.length };
      const activity = teamsMessage(stand, `attack: ${name}`);
      const res = await bot.post(activity, variant(activity));
      expect(res.status).toBe(401);
      expect(JSON.parse(res.text).error.code).toBe('UNAUTHORIZED');
      await new Promise((r) => setTimeout(r, 100));
      expect(stand.requests.length).toBe(before.requests);
      expect(stand.tokenRequests).toBe(before.tokens);
      expect(bot.t.loopback.delivered.length).toBe(before.envs);
    });
  }

  it('accepts a valid token: 200, the envelope is delivered and the echo reply reaches the conversation', async () => {
    const activity = teamsMessage(stand, 'to bob@partner.example: hello bob');
    const res = await bot.post(activity);
    expect(res.status).toBe(200);
    await until(() => bot.t.loopback.delivered.some((d) => d.env.id === `teams:${activity.id as string}`), 10_000, 'envelope delivered');
    const d = bot.t.loopback.delivered.find((x) => x.env.id === `teams:${activity.id as string}`);
    expect(d?.env.to.id).toBe('bob@partner.example');
    const reply = stand.sent.find((s) => s.replyToId === activity.id);
    expect(reply?.op).toBe('reply');
    expect(reply?.activity.text).toBe('echo: hello bob (accepted)');
    // The reply carried the bot's token from the stand-in's login authority.
    const call = stand.requests.find((r) => r.path.endsWith(`/activities/${activity.id as string}`));
    expect(call?.authorization).toMatch(/^Bearer ey/);
  });

  it('reuses a validated token only for the same serviceUrl and channel', async () => {
    const a = teamsMessage(stand, 'first');
    const auth = `Bearer ${stand.sign({ serviceUrl: a.serviceUrl as string })}`;
    expect((await bot.post(a, { auth })).status).toBe(200);
    const reused = bot.connector.counters().tokenValidationsReused ?? 0;
    expect((await bot.post(teamsMessage(stand, 'second'), { auth })).status).toBe(200);
    expect(bot.connector.counters().tokenValidationsReused).toBe(reused + 1);
    // The same (valid) token with another serviceUrl or channel is validated again, and refused.
    const moved = { ...teamsMessage(stand, 'moved'), serviceUrl: 'https://smba.trafficmanager.net/amer/' };
    expect((await bot.post(moved, { auth })).status).toBe(401);
    const otherChannel = { ...teamsMessage(stand, 'webchat'), channelId: 'webchat' };
    expect((await bot.post(otherChannel, { auth })).status).toBe(401);
    expect(bot.connector.counters().tokenValidationsReused).toBe(reused + 1);
  });

  it('tolerates clock skew within 5 minutes', async () => {
    const activity = teamsMessage(stand, 'skewed');
    const res = await bot.post(activity, { token: { serviceUrl: activity.serviceUrl as string, expiresIn: -60 } });
    expect(res.status).toBe(200);
  });

  it('answers 400 with a clear message for a body that is not an activity', async () => {
    const bad = await bot.post({}, { raw: '{"type": "message", ' });
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.text).error.message).toMatch(/not a Bot Framework activity/);
    const noType = await bot.post({ text: 'x' });
    expect(noType.status).toBe(400);
    expect(JSON.parse(noType.text).error.message).toMatch(/no type/);
  });

  it('refuses a body over 256 KiB with 413 before it is processed', async () => {
    const activity = teamsMessage(stand, 'x'.repeat(257 * 1024));
    const turns = (bot.experience as unknown as { turns: unknown[] }).turns.length;
    const res = await bot.post(activity);
    expect(res.status).toBe(413);
    expect((bot.experience as unknown as { turns: unknown[] }).turns.length).toBe(turns);
  });

  it('reports up with working credentials, and counts', () => {
    expect(bot.connector.status().state).toBe('up');
    const c = bot.connector.counters();
    expect(c.unauthorized).toBeGreaterThanOrEqual(cases.length);
    expect(c.signingKeyLoads).toBeGreaterThanOrEqual(1);
  });
});
