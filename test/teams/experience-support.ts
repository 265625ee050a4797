import type { Activity } from 'botbuilder';
import { Redis } from 'ioredis';
import { randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import type { IngestAck } from '../../src/core/connector.ts';
import { parseEnvelope, type Envelope } from '../../src/core/envelope.ts';
import type { InboundTurn, TeamsMember, TurnPlan } from '../../src/connectors/teams/contract.ts';
import { createTeamsExperience, type TeamsExperienceOptions } from '../../src/connectors/teams/experience/index.ts';
import { RedisUserDirectory } from '../../src/state/user-directory.ts';
import { startTestRedis, type TestRedis } from '../support/redis.ts';

/** A Teams experience on a real Redis, and Teams activities shaped like the ones Teams sends. */
export interface ExperienceFixture {
  redis: Redis;
  server: TestRedis;
  directory: RedisUserDirectory;
  exp: ReturnType<typeof createTeamsExperience>;
  stop(): Promise<void>;
}

export const PREFIX = 'exp-test';

export async function startExperience(over: Partial<TeamsExperienceOptions> = {}): Promise<ExperienceFixture> {
  const server = await startTestRedis();
  const redis = new Redis(server.url, { lazyConnect: false, maxRetriesPerRequest: 2 });
  const directory = new RedisUserDirectory(redis, PREFIX);
  const exp = createTeamsExperience({
    redis,
    keyPrefix: PREFIX,
    directory,
    domain: 'parley.local',
    roomsDomain: 'rooms.parley.local',
    domainPlatforms: { 'voip.example': 'sip' },
    publicBaseUrl: 'https://parley.example.org',
    signingKey: randomBytes(32),
    files: { allowHttp: true, downloadHosts: ['127.0.0.1', 'contoso.sharepoint.com'] },
    ...over,
  });
  return { redis, server, directory, exp, stop: async () => (redis.disconnect(), await server.stop()) };
}

export interface TeamsUser {
  id: string;
  name: string;
  aadObjectId: string;
  member: TeamsMember;
  personal: string;
}

export function teamsUser(local: string, name: string, upn = `${local}@contoso.onmicrosoft.com`): TeamsUser {
  const aad = `aad-${local}-0000-0000`;
  return {
    id: `29:1${local}`,
    name,
    aadObjectId: aad,
    member: { id: `29:1${local}`, aadObjectId: aad, name, email: `${local}@contoso.com`, userPrincipalName: upn, tenantId: 'tenant-1' },
    personal: `a:1personal-${local}`,
  };
}

let seq = 1_700_000_000_000;
export const BOT = { id: '28:parley-bot', name: 'Parley' };
export const CHANNEL = '19:general-channel@thread.tacv2';

function base(u: TeamsUser, conversation: Partial<Activity['conversation']>): Partial<Activity> {
  const id = String(++seq);
  return {
    id,
    timestamp: new Date(seq).toISOString() as unknown as Date,
    channelId: 'msteams',
    serviceUrl: 'https://smba.trafficmanager.net/emea/',
    from: { id: u.id, name: u.name, aadObjectId: u.aadObjectId },
    recipient: { ...BOT },
    conversation: { id: u.personal, conversationType: 'personal', tenantId: 'tenant-1', isGroup: false, ...conversation } as Activity['conversation'],
    channelData: { tenant: { id: 'tenant-1' } },
    locale: 'en-US',
  };
}

export function personal(u: TeamsUser, extra: Partial<Activity>): Activity {
  return { ...base(u, {}), ...extra } as Activity;
}

export function text(u: TeamsUser, t: string, extra: Partial<Activity> = {}): Activity {
  return personal(u, { type: 'message', text: t, textFormat: 'plain', ...extra });
}

export function channel(u: TeamsUser, extra: Partial<Activity>): Activity {
  const a = base(u, { id: `${CHANNEL};messageid=1699999999999`, conversationType: 'channel', isGroup: true, name: undefined });
  return { ...a, channelData: { tenant: { id: 'tenant-1' }, team: { id: '19:team@thread.tacv2', name: 'Contoso' }, channel: { id: CHANNEL, name: 'General' } }, ...extra } as Activity;
}

/** A channel message that mentions the bot, as Teams sends it (HTML text and a mention entity). */
export function channelText(u: TeamsUser, t: string, mention = true): Activity {
  const html = `${mention ? '<at>Parley</at> ' : ''}${t}`;
  return channel(u, {
    type: 'message',
    text: html,
    textFormat: 'plain',
    attachments: [{ contentType: 'text/html', content: `<p>${html}</p>` }],
    entities: mention ? [{ type: 'mention', text: '<at>Parley</at>', mentioned: { id: BOT.id, name: 'Parley' } }] : [],
  });
}

export function turn(a: Activity, member?: TeamsMember): InboundTurn & { memberCalls: number } {
  const t = {
    activity: a,
    memberCalls: 0,
    member: async () => {
      t.memberCalls++;
      return member;
    },
  };
  return t;
}

export const accepted = (plan: TurnPlan): IngestAck[] => plan.envelopes.map((e) => ({ id: (e as Envelope).id, outcome: 'accepted' }));

/** The plan's envelopes, each checked against the canonical schema. */
export function envs(plan: TurnPlan): Envelope[] {
  return plan.envelopes.map((e) => parseEnvelope(e));
}

export function replyTexts(plan: TurnPlan, acks: IngestAck[] = accepted(plan)): string[] {
  return plan.replies(acks).map((r) => (r.text ?? JSON.stringify(r.attachments)) as string);
}

export function only<T>(xs: readonly T[]): T {
  expect(xs).toHaveLength(1);
  return xs[0] as T;
}
