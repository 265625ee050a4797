import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTeamsExperience } from '../../src/connectors/teams/experience/index.ts';
import { RedisUserDirectory } from '../../src/state/user-directory.ts';
import { until } from '../support/hub.ts';
import { startPlayground, type Playground } from '../support/playground.ts';
import { startTestRedis, type TestRedis } from '../support/redis.ts';
import { startTeamsBot, type TeamsBot } from '../support/teams.ts';

/**
 * Microsoft 365 Agents Playground drives the bot with the real Teams
 * experience (development mode: the Playground sends no JWT). The bot's
 * replies are read from the Playground's conversation stream; the contact
 * request reaches the other side (the loopback connector playing XMPP).
 */
describe('teams: Agents Playground with the real experience', () => {
  let redis: TestRedis;
  let client: Redis;
  let bot: TeamsBot;
  let pg: Playground;

  beforeAll(async () => {
    redis = await startTestRedis();
    client = new Redis(redis.url, { maxRetriesPerRequest: 2 });
    const experience = createTeamsExperience({
      redis: client,
      keyPrefix: 'pg-exp',
      directory: new RedisUserDirectory(client, 'pg-exp'),
      domain: 'parley.local',
      publicBaseUrl: 'http://127.0.0.1:1',
      signingKey: randomBytes(32),
    });
    bot = await startTeamsBot(redis.url, { developmentMode: true, experience, teams: { enabled: true } });
    pg = await startPlayground(`${bot.base}/api/messages`);
  }, 90_000);

  afterAll(async () => {
    await pg?.stop();
    await bot?.stop();
    client?.disconnect();
    await redis?.stop();
  });

  const textOf = (m: { text?: string; attachments?: unknown[] }): string => `${m.text ?? ''} ${JSON.stringify(m.attachments ?? [])}`;

  it('`help` is answered with the command list', async () => {
    const from = pg.messages.length;
    await pg.say('help');
    // The welcome (on install) also carries the list: the answer to `help` is the one without the greeting.
    const reply = await pg.waitFor((m) => textOf(m).includes('connects you with people on other platforms') && !textOf(m).includes('Welcome'), 20_000, from);
    for (const cmd of ['add user@domain', 'contacts', 'profile user@domain', 'chat user@domain', 'status', 'remove user@domain']) expect(textOf(reply)).toContain(`<code>${cmd}`);
  }, 40_000);

  it('`add` sends a contact request and the bot says so', async () => {
    const from = pg.messages.length;
    await pg.say('add carol@partner.example');
    const reply = await pg.waitFor((m) => textOf(m).includes('carol@partner.example'), 20_000, from);
    expect(textOf(reply)).toContain('Contact request sent');
    await until(() => bot.t.loopback.delivered.some((d) => d.env.type === 'contact-request' && d.env.to.id === 'carol@partner.example'), 10_000, 'request at the XMPP side');
    const env = bot.t.loopback.delivered.find((d) => d.env.type === 'contact-request')?.env;
    expect(env?.from).toMatchObject({ platform: 'teams', domain: 'parley.local' });
  }, 40_000);
});
