import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Envelope } from '../../src/core/envelope.ts';
import { fromPlainText } from '../../src/core/richtext.ts';
import { startBotConnector, teamsMessage, type BotConnectorStandIn } from '../support/bot-connector.ts';
import { im, until, xmppUser } from '../support/hub.ts';
import { startTestRedis, type TestRedis } from '../support/redis.ts';
import { startTeamsBot, type TeamsBot } from '../support/teams.ts';
import { TestTeamsExperience, localIdOf } from '../support/teams-test-experience.ts';

describe('teams transport: redelivery, proactive sends, rate limits and retries', () => {
  let redis: TestRedis;
  let stand: BotConnectorStandIn;
  let bot: TeamsBot;
  let exp: TestTeamsExperience;
  let seq = 0;

  beforeAll(async () => {
    redis = await startTestRedis();
    stand = await startBotConnector();
    exp = new TestTeamsExperience();
    bot = await startTeamsBot(redis.url, {
      stand,
      experience: exp,
      teams: { requestTimeoutMs: 1500, answerWithinMs: 1000 },
      delivery: { backoffBaseMs: 50, backoffMaxMs: 400, timeoutMs: 5000 },
    });
  }, 60_000);

  afterAll(async () => {
    await bot?.stop();
    await stand?.stop();
    await redis?.stop();
  });

  /** A Teams user who has talked to the bot (so a conversation reference is stored); returns their Parley address. */
  async function knownUser(): Promise<{ to: Envelope['to']; conversation: string }> {
    const user = `29:user-${++seq}`;
    const a = teamsMessage(stand, 'hi', { user });
    expect((await bot.post(a)).status).toBe(200);
    const local = localIdOf(a as never);
    return { to: { platform: 'teams', id: `${local}@parley.local`, domain: 'parley.local' }, conversation: (a.conversation as { id: string }).id };
  }

  const postsTo = (conversation: string, text: string) => stand.sent.filter((s) => s.conversationId === conversation && s.op === 'post' && String(s.activity.text).endsWith(text));

  it('processes a redelivered activity once and answers 200 again', async () => {
    const a = teamsMessage(stand, 'only once');
    const turns = exp.turns.length;
    expect((await bot.post(a)).status).toBe(200);
    expect((await bot.post(a)).status).toBe(200);
    expect(exp.turns.length).toBe(turns + 1);
    expect(stand.sent.filter((s) => s.replyToId === a.id).length).toBe(1);
    expect(bot.connector.counters().redeliveries).toBeGreaterThanOrEqual(1);
  });

  it('answers 503 when processing is slow, then 200 to the redelivery without processing again', async () => {
    exp.delayMs = 1800;
    try {
      const a = teamsMessage(stand, 'slow one');
      const turns = exp.turns.length;
      const started = Date.now();
      const first = await bot.post(a);
      expect(first.status).toBe(503);
      expect(Date.now() - started).toBeLessThan(1800);
      // Teams redelivers while the first is still being processed: still 503.
      expect((await bot.post(a)).status).toBe(503);
      await until(() => stand.sent.some((s) => s.replyToId === a.id), 10_000, 'first processing finished');
      expect((await bot.post(a)).status).toBe(200);
      expect(exp.turns.length).toBe(turns + 1);
      await until(() => bot.t.loopback.delivered.some((d) => d.env.id === `teams:${a.id as string}`), 10_000, 'envelope delivered');
      expect(bot.t.loopback.delivered.filter((d) => d.env.id === `teams:${a.id as string}`).length).toBe(1);
    } finally {
      exp.delayMs = 0;
    }
  });

  it('answers an invoke with the experience\'s invoke response, also to its redelivery', async () => {
    const a = { ...teamsMessage(stand, ''), type: 'invoke', name: 'adaptiveCard/action', value: { action: { verb: 'accept' } } };
    const first = await bot.post(a);
    expect(first.status).toBe(200);
    expect(JSON.parse(first.text)).toEqual({ statusCode: 200, type: 'application/vnd.microsoft.activity.message', value: 'invoked adaptiveCard/action' });
    const again = await bot.post(a);
    expect(again.status).toBe(200);
    expect(JSON.parse(again.text)).toEqual(JSON.parse(first.text));
  });

  it('looks the sender up through the Bot Connector (TeamsInfo) when the experience asks', async () => {
    stand.members.set('29:member-x', { id: '29:member-x', name: 'Xavier Example', email: 'x@contoso.example', userPrincipalName: 'x@contoso.example', aadObjectId: 'aad-x', tenantId: 'tenant-1' });
    exp.lookupMember = true;
    try {
      const a = teamsMessage(stand, 'who am i', { user: '29:member-x' });
      expect((await bot.post(a)).status).toBe(200);
      expect(stand.sent.find((s) => s.replyToId === a.id)?.activity.text).toBe('echo to Xavier Example: who am i (accepted)');
      const lookup = stand.requests.find((r) => r.method === 'GET' && r.path === `/v3/conversations/${encodeURIComponent((a.conversation as { id: string }).id)}/members/${encodeURIComponent('29:member-x')}`);
      expect(lookup?.authorization).toMatch(/^Bearer /);
    } finally {
      exp.lookupMember = false;
    }
  });

  it('sends proactively into the stored conversation with the bot token', async () => {
    const { to, conversation } = await knownUser();
    await bot.t.hub.ingest(im(`x-${++seq}`, xmppUser(1), to, 'proactive hello'));
    await until(() => postsTo(conversation, 'proactive hello').length === 1, 10_000, 'proactive send');
    const sent = postsTo(conversation, 'proactive hello')[0];
    expect(sent?.activity.conversation).toMatchObject({ id: conversation });
    expect(sent?.activity.from).toMatchObject({ id: `28:${stand.appId}` });
    const call = stand.requests.find((r) => r.method === 'POST' && r.path === `/v3/conversations/${encodeURIComponent(conversation)}/activities`);
    expect(call?.authorization).toMatch(/^Bearer /);
  });

  it('429 with Retry-After, then 503: the message arrives exactly once, after the delay', async () => {
    const { to, conversation } = await knownUser();
    stand.faults.push({ status: 429, retryAfter: '1' }, { status: 503 });
    const t0 = Date.now();
    await bot.t.hub.ingest(im(`x-${++seq}`, xmppUser(1), to, 'throttled hello'));
    await until(() => postsTo(conversation, 'throttled hello').length === 1, 15_000, 'send after throttling');
    await new Promise((r) => setTimeout(r, 500));
    expect(postsTo(conversation, 'throttled hello').length).toBe(1);
    const calls = stand.requests.filter((r) => r.method === 'POST' && r.path.includes(encodeURIComponent(conversation)) && r.at >= t0);
    expect(calls.map((c) => c.status)).toEqual([429, 503, 201]);
    expect((calls[1]?.at ?? 0) - (calls[0]?.at ?? 0)).toBeGreaterThanOrEqual(950);
    expect(bot.connector.counters().rateLimited).toBeGreaterThanOrEqual(1);
  });

  it('a Bot Connector that hangs is given up on and the send retried: shown once', async () => {
    const { to, conversation } = await knownUser();
    stand.faults.push('hang');
    await bot.t.hub.ingest(im(`x-${++seq}`, xmppUser(1), to, 'after a hang'));
    await until(() => postsTo(conversation, 'after a hang').length === 1, 15_000, 'send after hang');
    expect(stand.requests.filter((r) => r.status === -1).length).toBeGreaterThanOrEqual(1);
  });

  it('another 4xx fails for good: the sender is told, no retry', async () => {
    const { to, conversation } = await knownUser();
    stand.faults.push({ status: 400, body: '{"error":{"code":"BadArgument","message":"nope"}}' });
    const id = `x-${++seq}`;
    await bot.t.hub.ingest(im(id, xmppUser(2), to, 'refused one'));
    await until(() => bot.t.loopback.delivered.some((d) => d.env.type === 'error' && d.env.target === id), 10_000, 'error to the sender');
    const err = bot.t.loopback.delivered.find((d) => d.env.type === 'error' && d.env.target === id)?.env;
    expect(err).toMatchObject({ code: 'DELIVERY_REJECTED', to: { id: xmppUser(2).id } });
    expect(stand.requests.filter((r) => r.path.includes(encodeURIComponent(conversation)) && r.status === 400).length).toBe(1);
    expect(postsTo(conversation, 'refused one').length).toBe(0);
  });

  it('a Teams user without a stored conversation: the sender gets a clear error', async () => {
    const id = `x-${++seq}`;
    await bot.t.hub.ingest(im(id, xmppUser(3), { platform: 'teams', id: 'stranger@parley.local', domain: 'parley.local' }, 'anyone there?'));
    await until(() => bot.t.loopback.delivered.some((d) => d.env.type === 'error' && d.env.target === id), 10_000, 'error to the sender');
    const err = bot.t.loopback.delivered.find((d) => d.env.type === 'error' && d.env.target === id)?.env as Extract<Envelope, { type: 'error' }>;
    expect(err.code).toBe('RECIPIENT_UNKNOWN');
    expect(err.message).toMatch(/talk to the bot/);
  });

  it('a retried item whose send is recorded is not posted again', async () => {
    const { to, conversation } = await knownUser();
    const env = im(`x-${++seq}`, xmppUser(1), to, 'recorded once');
    const item = { key: `teams:${env.id}`, env, attempt: 0 };
    expect(await bot.connector.deliver([item])).toEqual([{ ok: true }]);
    expect(await bot.connector.deliver([{ ...item, attempt: 1 }])).toEqual([{ ok: true }]);
    expect(postsTo(conversation, 'recorded once').length).toBe(1);
    const recs = exp.recorded.filter((r) => r.envId === env.id);
    expect(recs.length).toBe(2);
    expect(recs[0]?.activityId).toBe(recs[1]?.activityId);
    expect(bot.connector.counters().resendsSkipped).toBeGreaterThanOrEqual(1);
  });

  it('edits and deletes replace the earlier send', async () => {
    const { to, conversation } = await knownUser();
    const first = im(`x-${++seq}`, xmppUser(1), to, 'typo heer');
    await bot.t.hub.ingest(first);
    await until(() => postsTo(conversation, 'typo heer').length === 1, 10_000, 'first send');
    const activityId = postsTo(conversation, 'typo heer')[0]?.id;
    await bot.t.hub.ingest({ type: 'edit', id: `x-${++seq}`, ts: Date.now(), from: xmppUser(1), to, target: first.id, body: fromPlainText('typo here') });
    await until(() => stand.sent.some((s) => s.op === 'update' && s.id === activityId), 10_000, 'update');
    expect(String(stand.sent.find((s) => s.op === 'update' && s.id === activityId)?.activity.text)).toMatch(/typo here$/);
    await bot.t.hub.ingest({ type: 'delete', id: `x-${++seq}`, ts: Date.now(), from: xmppUser(1), to, target: first.id });
    await until(() => stand.sent.some((s) => s.op === 'delete' && s.id === activityId), 10_000, 'delete');
  });

  it('paces sends into one conversation at the configured rate (7/s)', async () => {
    const { to, conversation } = await knownUser();
    for (let i = 0; i < 8; i++) await bot.t.hub.ingest(im(`x-${++seq}`, xmppUser(1), to, `burst ${i}`));
    await until(() => stand.sent.filter((s) => s.conversationId === conversation && String(s.activity.text).includes('burst')).length === 8, 15_000, 'burst sent');
    const burst = stand.sent.filter((s) => s.conversationId === conversation && String(s.activity.text).includes('burst'));
    expect(burst.map((s) => String(s.activity.text).replace(/^.*: /, ''))).toEqual([0, 1, 2, 3, 4, 5, 6, 7].map((i) => `burst ${i}`));
    const times = burst.map((s) => s.at);
    // 8 sends at 7/s take at least 7 intervals of ~143 ms.
    expect((times[7] ?? 0) - (times[0] ?? 0)).toBeGreaterThanOrEqual(900);
  });
});
