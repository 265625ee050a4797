import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Address } from '../../src/core/address.ts';
import { parseEnvelope, type EnvelopeOf } from '../../src/core/envelope.ts';
import { toPlainText } from '../../src/core/richtext.ts';
import { CHANNEL, channel, channelText, envs, only, replyTexts, startExperience, teamsUser, turn, type ExperienceFixture } from './experience-support.ts';

const alice = teamsUser('alice', 'Alice');
const dan = teamsUser('dan', 'Dan');
const room: Address = { platform: 'xmpp', id: CHANNEL, domain: 'rooms.parley.local' };

let f: ExperienceFixture;
beforeAll(async () => {
  f = await startExperience();
});
afterAll(async () => {
  await f?.stop();
});

describe('channels and group chats', () => {
  it('welcomes the bot into a channel; the conversation key is the channel, not the thread', async () => {
    const plan = await f.exp.handle(turn(channel(alice, { type: 'conversationUpdate', membersAdded: [{ id: '28:parley-bot', name: 'Parley' }] }), alice.member));
    expect(plan.conversationKey).toBe(`chat:${CHANNEL}`);
    expect(replyTexts(plan)[0]).toContain('invite user@domain');
  });

  it('a mention without anyone bridged explains invite; without a mention it stays silent', async () => {
    const plan = await f.exp.handle(turn(channelText(alice, 'hello?'), alice.member));
    expect(plan.envelopes).toHaveLength(0);
    expect(replyTexts(plan)[0]).toContain('Nobody from outside Teams');
    const quiet = await f.exp.handle(turn(channelText(alice, 'just chatting', false)));
    expect(quiet.envelopes).toHaveLength(0);
    expect(replyTexts(quiet)).toEqual([]);
  });

  it('invite makes an invite envelope for the room the channel becomes', async () => {
    const plan = await f.exp.handle(turn(channelText(alice, 'invite bob@example.org weekly sync')));
    const inv = only(envs(plan)) as EnvelopeOf<'invite'>;
    expect(inv).toMatchObject({ type: 'invite', chatId: CHANNEL, from: { platform: 'teams', id: 'alice@parley.local', name: 'Alice' }, to: { platform: 'xmpp', id: 'bob@example.org' }, room: { id: CHANNEL, name: 'Contoso / General' }, reason: 'weekly sync' });
    expect(replyTexts(plan)[0]).toContain('Invited <b>bob@example.org</b>');
    const sip = await f.exp.handle(turn(channelText(alice, 'invite carol@voip.example')));
    expect(only(envs(sip))).toMatchObject({ type: 'invite', to: { platform: 'sip', id: 'carol@voip.example' } });
    const bad = await f.exp.handle(turn(channelText(alice, 'invite bob@')));
    expect(bad.envelopes).toHaveLength(0);
    expect(replyTexts(bad)[0]).toContain('invite user@domain');
    const blocked = await f.exp.handle(turn(channelText(alice, 'invite eve@blocked.example')));
    const e = only(envs(blocked));
    expect(replyTexts(blocked, [{ id: e.id, outcome: 'blocked', error: { code: 'POLICY_DOMAIN_BLOCKED', message: 'domain blocked.example is blocked', retryable: false } }])[0]).toContain('Could not invite');
  });

  it('messages reach the XMPP room once and each SIP member, tagged with the chat', async () => {
    await new Promise((r) => setTimeout(r, 30));
    const a = channelText(dan, 'the <b>plan</b> is ready');
    const plan = await f.exp.handle(turn(a, dan.member));
    const ims = envs(plan) as EnvelopeOf<'im'>[];
    expect(ims.map((m) => [m.to.platform, m.to.id, m.to.domain, m.chatId])).toEqual([
      ['xmpp', CHANNEL, 'rooms.parley.local', CHANNEL],
      ['sip', 'carol@voip.example', 'voip.example', CHANNEL],
    ]);
    expect(ims[0]?.from).toMatchObject({ id: 'dan@parley.local', name: 'Dan' });
    expect(toPlainText(ims[0]?.body ?? { blocks: [] })).toBe('the plan is ready');
    expect(new Set(ims.map((m) => m.id)).size).toBe(2);
    const failed = replyTexts(plan, [{ id: ims[0]?.id ?? '', outcome: 'accepted' }, { id: ims[1]?.id ?? '', outcome: 'rejected', error: { code: 'NO_CONNECTOR', message: 'no SIP connector', retryable: false } }]);
    expect(failed[0]).toContain('did not reach sip:carol@voip.example');

    // Dan edits and deletes: both copies follow.
    const edit = channel(dan, { type: 'messageUpdate', id: a.id, text: 'the plan is late', channelData: { eventType: 'editMessage' } });
    expect(envs(await f.exp.handle(turn(edit))).map((e) => [e.type, e.to.id, (e as EnvelopeOf<'edit'>).target])).toEqual([
      ['edit', CHANNEL, ims[0]?.id],
      ['edit', 'carol@voip.example', ims[1]?.id],
    ]);
    const del = channel(dan, { type: 'messageDelete', id: a.id, channelData: { eventType: 'softDeleteMessage' } });
    expect(envs(await f.exp.handle(turn(del))).map((e) => e.type)).toEqual(['delete', 'delete']);
    // Typing goes to the bridge too.
    expect(envs(await f.exp.handle(turn(channel(dan, { type: 'typing' }))))).toHaveLength(2);
  });

  it("room messages show in the channel with the sender's identity; reactions to them go back to the room", async () => {
    const fromRoom = parseEnvelope({ type: 'im', id: 'x:bob@example.org/m1', ts: Date.now(), chatId: CHANNEL, from: { platform: 'xmpp', id: 'bob@example.org', domain: 'example.org', name: 'Bob' }, to: { platform: 'teams', id: CHANNEL, domain: 'rooms.parley.local' }, body: { blocks: [{ t: 'p', c: [{ t: 'text', v: 'hi all' }] }] } });
    const shown = await f.exp.render(fromRoom);
    expect(shown?.conversation).toBe(`chat:${CHANNEL}`);
    expect(shown?.activity.text).toContain('<b>Bob</b> <i>(bob@example.org, XMPP)</i>');
    await f.exp.recordSent(fromRoom, shown as NonNullable<typeof shown>, 'chan-act-9');
    const react = await f.exp.handle(turn(channel(alice, { type: 'messageReaction', replyToId: 'chan-act-9', reactionsAdded: [{ type: 'heart' }] })));
    expect(only(envs(react))).toMatchObject({ type: 'reaction', to: room, target: 'x:bob@example.org/m1', emoji: '❤️', chatId: CHANNEL });
    // An error from the room is shown in the channel.
    const err = await f.exp.render(parseEnvelope({ type: 'error', id: 'e1', ts: Date.now(), chatId: CHANNEL, from: room, to: { platform: 'teams', id: 'alice@parley.local', domain: 'parley.local' }, code: 'UNDELIVERABLE', message: 'room down', target: 'x:unknown', retryable: false }));
    expect(err?.conversation).toBe(`chat:${CHANNEL}`);
    expect(err?.activity.text).toContain('the people in this conversation on XMPP');
  });

  it('without the room service, XMPP members are written to one by one', async () => {
    const g = await startExperience({ roomsDomain: undefined });
    try {
      await g.exp.handle(turn(channelText(alice, 'invite bob@example.org'), alice.member));
      const ims = envs(await g.exp.handle(turn(channelText(alice, 'hi'))));
      expect(ims.map((m) => [m.to.id, m.chatId])).toEqual([['bob@example.org', CHANNEL]]);
    } finally {
      await g.stop();
    }
  });
});
