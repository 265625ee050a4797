import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until, xmppUser, im } from '../support/hub.ts';
import { startPlayground, type Playground } from '../support/playground.ts';
import { startTestRedis, type TestRedis } from '../support/redis.ts';
import { startTeamsBot, type TeamsBot } from '../support/teams.ts';
import { TestTeamsExperience, localIdOf } from '../support/teams-test-experience.ts';

/**
 * Microsoft 365 Agents Playground as Teams: it sends activities without a
 * JWT, so Parley runs in development mode without credentials, and its
 * serviceUrl is a loopback http URL (allowed only in development mode).
 */
describe('teams: Microsoft 365 Agents Playground drives the bot', () => {
  let redis: TestRedis;
  let bot: TeamsBot;
  let pg: Playground;
  let exp: TestTeamsExperience;

  beforeAll(async () => {
    redis = await startTestRedis();
    exp = new TestTeamsExperience();
    bot = await startTeamsBot(redis.url, { developmentMode: true, experience: exp, teams: { enabled: true } });
    pg = await startPlayground(`${bot.base}/api/messages`);
  }, 90_000);

  afterAll(async () => {
    await pg?.stop();
    await bot?.stop();
    await redis?.stop();
  });

  it('a user message reaches the hub and the reply shows in the playground', async () => {
    const from = pg.messages.length;
    await pg.say('to carol@partner.example: hello from the playground');
    const reply = await pg.waitFor((m) => typeof m.text === 'string' && m.text.startsWith('echo: hello from the playground'), 20_000, from);
    expect(reply.text).toBe('echo: hello from the playground (accepted)');
    await until(() => bot.t.loopback.delivered.some((d) => d.env.to.id === 'carol@partner.example'), 10_000, 'envelope at the loopback side');
    const env = bot.t.loopback.delivered.find((d) => d.env.to.id === 'carol@partner.example')?.env;
    expect(env?.type).toBe('im');
    expect(env?.from.platform).toBe('teams');
  }, 40_000);

  it('a proactive message from the other side shows in the playground chat', async () => {
    const turn = exp.turns.find((t) => t.type === 'message');
    expect(turn).toBeDefined();
    const to = { platform: 'teams' as const, id: `${localIdOf(turn!)}@parley.local`, domain: 'parley.local' };
    const from = pg.messages.length;
    await bot.t.hub.ingest(im(`pg-${Date.now()}`, { ...xmppUser(7), name: 'Carol' }, to, 'hi from xmpp'));
    const shown = await pg.waitFor((m) => m.text === 'Carol: hi from xmpp', 20_000, from);
    expect(shown).toBeDefined();
  }, 40_000);
});
