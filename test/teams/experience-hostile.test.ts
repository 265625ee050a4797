import type { Activity } from 'botbuilder';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEnvelope } from '../../src/core/envelope.ts';
import { accepted, BOT, channelText, personal, startExperience, teamsUser, text, turn, type ExperienceFixture } from './experience-support.ts';

const mallory = teamsUser('mallory', 'Mallory');
let f: ExperienceFixture;
beforeAll(async () => {
  f = await startExperience();
  await f.exp.handle(turn(text(mallory, 'chat bob@example.org'), mallory.member));
  await f.exp.handle(turn(channelText(mallory, 'invite bob@example.org'), mallory.member));
});
afterAll(async () => {
  await f?.stop();
});

const garbage: unknown[] = [null, 1, 'x', [], {}, { a: 1 }, ['x'], true, { toString: 1 }, 'a'.repeat(70_000)];

describe('hostile activities', () => {
  it('never throw, and whatever they make is a valid envelope', async () => {
    const shapes: Array<Partial<Activity> | Record<string, unknown>> = [];
    for (const g of garbage) {
      shapes.push(
        { type: g },
        { type: 'message', from: g },
        { type: 'message', from: { id: g }, conversation: { id: 'c' } },
        { type: 'message', conversation: g },
        { type: 'message', text: g },
        { type: 'message', entities: g },
        { type: 'message', entities: [g, { type: 'mention', mentioned: g, text: g }, { type: 'quotedReply', quotedReply: g }] },
        { type: 'message', attachments: g },
        { type: 'message', attachments: [g, { contentType: 'application/vnd.microsoft.teams.file.download.info', name: g, content: g }] },
        { type: 'message', value: g, text: undefined },
        { type: 'message', replyToId: g, text: 'hi' },
        { type: 'messageReaction', replyToId: 'x', reactionsAdded: g, reactionsRemoved: [g] },
        { type: 'messageUpdate', channelData: g, text: g },
        { type: 'messageDelete', channelData: { eventType: g } },
        { type: 'conversationUpdate', membersAdded: g },
        { type: 'conversationUpdate', membersAdded: [g, { id: BOT.id }] },
        { type: 'invoke', name: 'adaptiveCard/action', value: g },
        { type: 'message', from: { id: mallory.id, name: g, aadObjectId: g } },
        { type: 'message', id: g },
      );
    }
    shapes.push(
      { type: 'message', text: `<at>Parley</at>${'<b>'.repeat(50_000)}x` },
      { type: 'message', text: '@' + 'x'.repeat(100_000) + ' hi' },
      { type: 'message', text: 'add ' + 'x'.repeat(5000) + '@example.org' },
      { type: 'message', text: 'status away ' + 'z'.repeat(5000) },
      { type: 'message', text: `chat ${'é'.repeat(3000)}` },
      { type: 'message', attachments: [{ contentType: 'text/html', content: `<blockquote itemtype="http://schema.skype.com/Reply" itemid="${'9'.repeat(5000)}">q</blockquote>hi` }] },
    );
    let made = 0;
    for (const [i, s] of shapes.entries()) {
      for (const base of [personal(mallory, {}), channelText(mallory, '')]) {
        const a = { ...base, ...s } as Activity;
        const plan = await f.exp.handle(turn(a, mallory.member)).catch((err: unknown) => {
          throw new Error(`shape ${i} (${JSON.stringify(s).slice(0, 200)}) threw: ${String(err)}`);
        });
        for (const e of plan.envelopes) parseEnvelope(e);
        made += plan.envelopes.length;
        expect(() => plan.replies(accepted(plan))).not.toThrow();
      }
    }
    expect(made).toBeGreaterThan(0);
  });
});
