import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Address } from '../../src/core/address.ts';
import { parseEnvelope, type Envelope, type EnvelopeOf } from '../../src/core/envelope.ts';
import { toPlainText } from '../../src/core/richtext.ts';
import { accepted, envs, only, personal, PREFIX, replyTexts, startExperience, teamsUser, text, turn, type ExperienceFixture } from './experience-support.ts';

const alice = teamsUser('alice.smith', 'Alice Smith');
const ALICE = 'alice.smith@parley.local';
const bob: Address = { platform: 'xmpp', id: 'bob@example.org', domain: 'example.org', name: 'Bob' };
const carol: Address = { platform: 'sip', id: 'carol@voip.example', domain: 'voip.example' };
const aliceAddr: Address = { platform: 'teams', id: ALICE, domain: 'parley.local', tenant: 'tenant-1', name: 'Alice Smith' };

let f: ExperienceFixture;
let ts = 1_800_000_000_000;
const fromBob = <T extends Envelope['type']>(type: T, extra: Record<string, unknown>, id = `x:bob@example.org/${++ts}`): EnvelopeOf<T> =>
  parseEnvelope({ type, id, ts, from: bob, to: aliceAddr, ...extra }) as EnvelopeOf<T>;

beforeAll(async () => {
  f = await startExperience();
});
afterAll(async () => {
  await f?.stop();
});

describe('personal chat with the Parley bot', () => {
  it('welcomes a user on install and stores them in the directory under a unique address', async () => {
    const t = turn(personal(alice, { type: 'conversationUpdate', membersAdded: [{ id: alice.id, name: alice.name }, { id: '28:parley-bot', name: 'Parley' }] }), alice.member);
    const plan = await f.exp.handle(t);
    expect(t.memberCalls).toBe(1);
    expect(plan.conversationKey).toBe(`user:${ALICE}`);
    expect(plan.envelopes).toEqual([]);
    const [welcome] = replyTexts(plan);
    expect(welcome).toContain('Welcome, Alice Smith');
    expect(welcome).toContain(ALICE);
    expect(await f.directory.get(ALICE)).toMatchObject({ platform: 'teams', name: 'Alice Smith', email: 'alice.smith@contoso.com', upn: 'alice.smith@contoso.onmicrosoft.com', aadObjectId: alice.aadObjectId, tenant: 'tenant-1' });

    // Another Alice Smith (other UPN domain, same local part) gets her own id.
    const other = teamsUser('alice.smith2', 'Alice Smith', 'alice.smith@fabrikam.example');
    const p2 = await f.exp.handle(turn(personal(other, { type: 'conversationUpdate', membersAdded: [{ id: '28:parley-bot', name: 'Parley' }] }), other.member));
    expect(p2.conversationKey).toBe('user:alice.smith.2@parley.local');
    // A known user is not looked up again.
    const again = turn(text(alice, 'help'), alice.member);
    await f.exp.handle(again);
    expect(again.memberCalls).toBe(0);
  });

  it('answers help, unknown commands and bad addresses clearly', async () => {
    expect(replyTexts(await f.exp.handle(turn(text(alice, 'help'))))[0]).toContain('<code>add user@domain');
    expect(replyTexts(await f.exp.handle(turn(text(alice, '/frobnicate'))))[0]).toMatch(/unknown command.*help/);
    const bad = replyTexts(await f.exp.handle(turn(text(alice, 'add bob@-nope-.org'))));
    expect(bad[0]).toContain('not a valid domain name');
    expect(replyTexts(await f.exp.handle(turn(text(alice, 'add bob@parley.local'))))[0]).toContain('own organisation');
  });

  it('the first message made the user available', async () => {
    expect(JSON.parse((await f.redis.get(`${PREFIX}:teams:me:${ALICE}`)) ?? '{}')).toMatchObject({ show: 'available', explicit: false });
  });

  it('add sends a contact request; a blocked one says why and leaves no contact behind', async () => {
    const plan = await f.exp.handle(turn(text(alice, 'add xmpp:bob@example.org hello from Contoso')));
    const req = only(envs(plan));
    expect(req).toMatchObject({ type: 'contact-request', from: { platform: 'teams', id: ALICE, name: 'Alice Smith' }, to: { platform: 'xmpp', id: 'bob@example.org' }, message: 'hello from Contoso' });
    expect(replyTexts(plan)[0]).toContain('Contact request sent to <b>bob@example.org</b>');

    const blocked = await f.exp.handle(turn(text(alice, 'add eve@blocked.example')));
    const e = only(envs(blocked));
    const replies = replyTexts(blocked, [{ id: e.id, outcome: 'blocked', error: { code: 'POLICY_DOMAIN_BLOCKED', message: 'domain blocked.example is blocked', retryable: false } }]);
    expect(replies[0]).toContain('Could not send a contact request to eve@blocked.example');
    expect(replies[0]).toContain('domain blocked.example is blocked');
    await new Promise((r) => setTimeout(r, 50));
    const card = JSON.stringify((await f.exp.handle(turn(text(alice, 'contacts')))).replies([])[0]?.attachments);
    expect(card).toContain('bob@example.org');
    expect(card).toContain('request sent');
    expect(card).not.toContain('eve@blocked.example');
  });

  it("shows the contact's acceptance, then their presence in the contacts card", async () => {
    const ok = await f.exp.render(fromBob('contact-response', { decision: 'accepted' }));
    expect(ok?.conversation).toBe(`user:${ALICE}`);
    expect(ok?.activity.text).toContain('accepted your contact request');
    expect(await f.exp.render(fromBob('contact-response', { decision: 'accepted' }))).toBeUndefined();
    expect(await f.exp.render(fromBob('presence', { show: 'away', status: 'at lunch' }))).toBeUndefined();
    const card = JSON.stringify((await f.exp.handle(turn(text(alice, 'contacts')))).replies([])[0]?.attachments);
    expect(card).toContain('🟡 away');
    expect(card).toContain('at lunch');
    expect(card).toContain('XMPP');
  });

  it('an incoming contact request is a card whose Accept answers it and shares presence', async () => {
    const req = fromBob('contact-request', { message: 'hi!' }, 'x:carol@voip.example/r1');
    const r = await f.exp.render({ ...req, from: carol });
    const card = r?.activity.attachments?.[0]?.content as { actions: Array<{ title: string; data: unknown }> };
    expect(card.actions.map((a) => a.title)).toEqual(['Accept', 'Decline']);
    const submit = text(alice, '', { text: undefined, value: JSON.parse(JSON.stringify(card.actions[0]?.data)) });
    const plan = await f.exp.handle(turn(submit));
    const [resp, pres] = envs(plan);
    expect(resp).toMatchObject({ type: 'contact-response', decision: 'accepted', to: { id: 'carol@voip.example' }, replyTo: 'x:carol@voip.example/r1' });
    expect(pres).toMatchObject({ type: 'presence', show: 'available', to: { id: 'carol@voip.example' } });
    expect(pres?.id.startsWith('tp:')).toBe(true);
    expect(replyTexts(plan)[0]).toContain('You accepted');
    // Pressing it again: nothing pending any more.
    const again = await f.exp.handle(turn(text(alice, '', { text: undefined, value: card.actions[1]?.data })));
    expect(again.envelopes).toHaveLength(0);
    expect(replyTexts(again)[0]).toContain('already one of your contacts');
    // A forged button for someone who never asked.
    const forged = await f.exp.handle(turn(text(alice, '', { text: undefined, value: { parley: 'contact-response', decision: 'accepted', peer: { platform: 'xmpp', id: 'mallory@evil.example', domain: 'evil.example' }, request: 'x' } })));
    expect(forged.envelopes).toHaveLength(0);
    expect(replyTexts(forged)[0]).toContain('no pending request');
  });

  it('Action.Execute (invoke adaptiveCard/action) answers the request too, with an invoke response', async () => {
    const dave: Address = { platform: 'xmpp', id: 'dave@example.org', domain: 'example.org' };
    const r = await f.exp.render({ ...fromBob('contact-request', {}, 'x:dave@example.org/r9'), from: dave });
    const data = (r?.activity.attachments?.[0]?.content as { actions: Array<{ data: unknown }> }).actions[1]?.data;
    const plan = await f.exp.handle(turn(personal(alice, { type: 'invoke', name: 'adaptiveCard/action', value: { action: { type: 'Action.Execute', verb: 'decide', data } } })));
    expect(plan.invokeResponse).toMatchObject({ status: 200 });
    expect(only(envs(plan))).toMatchObject({ type: 'contact-response', decision: 'declined', to: { id: 'dave@example.org' }, replyTo: 'x:dave@example.org/r9' });
    expect((await f.exp.handle(turn(personal(alice, { type: 'invoke', name: 'composeExtension/query', value: {} })))).invokeResponse).toEqual({ status: 501 });
  });

  it('a request from someone already a contact is accepted automatically (followUps), with no card', async () => {
    const req = fromBob('contact-request', {});
    expect(await f.exp.render(req)).toBeUndefined();
    const [answer] = (await f.exp.followUps(req)).map((e) => parseEnvelope(e));
    expect(answer).toMatchObject({ type: 'contact-response', decision: 'accepted', from: { id: ALICE }, to: { id: 'bob@example.org' }, replyTo: req.id });
  });

  it('plain text needs a target; chat sets it; messages then go there as rich text', async () => {
    const none = await f.exp.handle(turn(text(alice, 'hello?')));
    expect(none.envelopes).toHaveLength(0);
    expect(replyTexts(none)[0]).toContain('Who is this for?');
    expect(replyTexts(await f.exp.handle(turn(text(alice, 'chat Bob'))))[0]).toContain('Now chatting with <b>Bob (bob@example.org)</b>');
    const html = '<div><div>Hi <b>Bob</b>, see <a href="https://example.org/doc">the doc</a><script>x()</script></div></div>';
    const plan = await f.exp.handle(turn(text(alice, 'Hi Bob, see the doc', { attachments: [{ contentType: 'text/html', content: html }] })));
    const im = only(envs(plan)) as EnvelopeOf<'im'>;
    expect(im).toMatchObject({ type: 'im', to: { id: 'bob@example.org' } });
    expect(im.body.blocks[0]).toEqual({ t: 'p', c: [{ t: 'text', v: 'Hi ' }, { t: 'text', v: 'Bob', marks: ['bold'] }, { t: 'text', v: ', see ' }, { t: 'link', href: 'https://example.org/doc', v: 'the doc' }] });
    expect(replyTexts(plan)).toEqual([]);
    const failed = replyTexts(plan, [{ id: im.id, outcome: 'rejected', error: { code: 'OVERLOADED', message: 'Parley is overloaded', retryable: true } }]);
    expect(failed[0]).toContain('try again');
  });

  it('@name sends once to someone else without changing the target', async () => {
    const plan = await f.exp.handle(turn(text(alice, '@carol@voip.example see you at 3')));
    const im = only(envs(plan)) as EnvelopeOf<'im'>;
    expect(im.to).toMatchObject({ platform: 'sip', id: 'carol@voip.example' });
    expect(toPlainText(im.body)).toBe('see you at 3');
    const next = only(envs(await f.exp.handle(turn(text(alice, 'still Bob')))));
    expect(next.to.id).toBe('bob@example.org');
    expect(replyTexts(await f.exp.handle(turn(text(alice, '@nobody hi'))))[0]).toContain('No contact called');
  });

  let bobMsg: EnvelopeOf<'im'>;
  it('renders an incoming message with the sender, and reply-by-quote answers that sender', async () => {
    bobMsg = fromBob('im', { body: { blocks: [{ t: 'p', c: [{ t: 'text', v: '<img src=x onerror=alert(1)> lunch?' }] }] } });
    const shown = await f.exp.render(bobMsg);
    expect(shown).toMatchObject({ conversation: `user:${ALICE}`, activity: { type: 'message', textFormat: 'xml' } });
    expect(shown?.activity.text).toContain('<b>Bob</b> <i>(bob@example.org)</i>');
    expect(shown?.activity.text).toContain('&lt;img src=x onerror=alert(1)&gt; lunch?');
    await f.exp.recordSent(bobMsg, shown as NonNullable<typeof shown>, 'bot-act-1');

    await f.exp.handle(turn(text(alice, 'chat carol@voip.example')));
    const quoteHtml =
      '<blockquote itemscope="" itemtype="http://schema.skype.com/Reply" itemid="bot-act-1">\r\n<strong itemprop="mri" itemid="28:parley-bot">Parley</strong><span itemprop="time" itemid="bot-act-1"></span>\r\n<p itemprop="preview">Bob (bob@example.org) lunch?</p>\r\n</blockquote>\r\n<p>yes, at noon</p>';
    const plan = await f.exp.handle(turn(text(alice, 'Parley Bob lunch? yes, at noon', { attachments: [{ contentType: 'text/html', content: quoteHtml }] })));
    const im = only(envs(plan)) as EnvelopeOf<'im'>;
    expect(im.to.id).toBe('bob@example.org');
    expect(im.replyTo).toBe(bobMsg.id);
    expect(toPlainText(im.body)).toBe('yes, at noon');

    // Bob's reply quoting Alice's message shows the excerpt.
    const back = await f.exp.render(fromBob('im', { body: { blocks: [{ t: 'p', c: [{ t: 'text', v: 'great' }] }] }, replyTo: im.id }));
    expect(back?.activity.text).toContain('<blockquote>yes, at noon</blockquote>');
  });

  it("reactions both ways: Alice's become reaction envelopes, Bob's a short message", async () => {
    const plan = await f.exp.handle(turn(personal(alice, { type: 'messageReaction', replyToId: 'bot-act-1', reactionsAdded: [{ type: 'like' }, { type: '1f440_eyes' }] })));
    const rs = envs(plan) as EnvelopeOf<'reaction'>[];
    expect(rs.map((r) => [r.to.id, r.target, r.emoji, r.action])).toEqual([
      ['bob@example.org', bobMsg.id, '👍', 'add'],
      ['bob@example.org', bobMsg.id, '👀', 'add'],
    ]);
    const removed = envs(await f.exp.handle(turn(personal(alice, { type: 'messageReaction', replyToId: 'bot-act-1', reactionsRemoved: [{ type: 'like' }] }))));
    expect(removed[0]).toMatchObject({ type: 'reaction', action: 'remove', emoji: '👍' });
    expect((await f.exp.handle(turn(personal(alice, { type: 'messageReaction', replyToId: 'unknown', reactionsAdded: [{ type: 'like' }] })))).envelopes).toHaveLength(0);

    const sent = only(envs(await f.exp.handle(turn(text(alice, '@bob the report is ready')))));
    const r = await f.exp.render(fromBob('reaction', { target: sent.id, emoji: '❤️', action: 'add' }));
    expect(r?.activity.text).toContain('reacted ❤️ to “the report is ready”');
  });

  it("Alice's edits and deletes follow her message; Bob's update and delete the bot's post", async () => {
    const orig = text(alice, '@bob meeting at 10');
    const sent = only(envs(await f.exp.handle(turn(orig))));
    const edit = personal(alice, { type: 'messageUpdate', id: orig.id, text: '@bob meeting at 11', textFormat: 'plain', channelData: { eventType: 'editMessage', tenant: { id: 'tenant-1' } } });
    const e = only(envs(await f.exp.handle(turn(edit)))) as EnvelopeOf<'edit'>;
    expect(e).toMatchObject({ type: 'edit', target: sent.id, to: { id: 'bob@example.org' } });
    expect(toPlainText(e.body)).toBe('meeting at 11');
    const del = personal(alice, { type: 'messageDelete', id: orig.id, channelData: { eventType: 'softDeleteMessage', tenant: { id: 'tenant-1' } } });
    expect(only(envs(await f.exp.handle(turn(del))))).toMatchObject({ type: 'delete', target: sent.id });
    // Commands are not messages: editing one sends nothing.
    const cmd = text(alice, 'contacts');
    await f.exp.handle(turn(cmd));
    expect((await f.exp.handle(turn(personal(alice, { type: 'messageUpdate', id: cmd.id, text: 'x', channelData: { eventType: 'editMessage' } })))).envelopes).toHaveLength(0);

    const upd = await f.exp.render(fromBob('edit', { target: bobMsg.id, body: { blocks: [{ t: 'p', c: [{ t: 'text', v: 'lunch at 1?' }] }] } }));
    expect(upd?.replaces).toEqual({ activityId: 'bot-act-1', op: 'update' });
    expect(upd?.activity.text).toContain('(edited)');
    expect((await f.exp.render(fromBob('delete', { target: bobMsg.id })))?.replaces).toEqual({ activityId: 'bot-act-1', op: 'delete' });
    expect(await f.exp.render(fromBob('delete', { target: 'x:bob@example.org/never-shown' }))).toBeUndefined();
  });

  it('typing both ways', async () => {
    const ty = only(envs(await f.exp.handle(turn(personal(alice, { type: 'typing' })))));
    expect(ty).toMatchObject({ type: 'typing', state: 'composing', to: { id: 'carol@voip.example' } });
    expect((await f.exp.render(fromBob('typing', { state: 'composing' })))?.activity).toEqual({ type: 'typing' });
    expect(await f.exp.render(fromBob('typing', { state: 'paused' }))).toBeUndefined();
  });

  it('presence: the contact being chatted with is announced on change, others only update the card', async () => {
    await f.exp.handle(turn(text(alice, 'chat bob@example.org')));
    const n = await f.exp.render(fromBob('presence', { show: 'dnd', status: 'focus' }));
    expect(n?.activity.text).toContain('is now 🔴 do not disturb: focus');
    expect(await f.exp.render(fromBob('presence', { show: 'dnd', status: 'still focus' }))).toBeUndefined();
    expect(await f.exp.render({ ...fromBob('presence', { show: 'away' }), from: { platform: 'xmpp', id: 'stranger@example.org', domain: 'example.org' } })).toBeUndefined();
    expect(await f.redis.hexists(`${PREFIX}:teams:contacts:${ALICE}`, 'xmpp:stranger@example.org')).toBe(0);
  });

  it('status tells every accepted contact', async () => {
    const plan = await f.exp.handle(turn(text(alice, 'status away back at 3pm')));
    const ps = envs(plan) as EnvelopeOf<'presence'>[];
    expect(ps.map((p) => p.to.id).sort()).toEqual(['bob@example.org', 'carol@voip.example']);
    expect(ps.every((p) => p.show === 'away' && p.status === 'back at 3pm')).toBe(true);
    expect(replyTexts(plan)[0]).toContain('2 of 2 contacts');
    expect(JSON.parse((await f.redis.get(`${PREFIX}:teams:me:${ALICE}`)) ?? '{}')).toMatchObject({ show: 'away', explicit: true });
  });

  it('profiles both ways: a request, the answer as a card; external requests answered from the directory', async () => {
    const req = only(envs(await f.exp.handle(turn(text(alice, 'profile bob@example.org')))));
    expect(req).toMatchObject({ type: 'profile-request', to: { id: 'bob@example.org' } });
    const card = await f.exp.render(fromBob('profile-response', { replyTo: req.id, profile: { displayName: 'Bob B', email: 'bob@example.org', title: 'CTO' } }));
    expect(JSON.stringify(card?.activity.attachments)).toContain('CTO');

    const ask = fromBob('profile-request', {}, 'xq:bob@example.org/v1');
    expect(await f.exp.render(ask)).toBeUndefined();
    const [answer] = (await f.exp.followUps(ask)).map((e) => parseEnvelope(e));
    expect(answer).toMatchObject({ type: 'profile-response', from: { id: ALICE }, to: { id: 'bob@example.org' }, replyTo: ask.id, profile: { displayName: 'Alice Smith', email: 'alice.smith@contoso.com' } });
    const stranger = { ...ask, id: 'xq:s@example.org/v1', from: { platform: 'xmpp' as const, id: 's@example.org', domain: 'example.org' } };
    expect((await f.exp.followUps(stranger))[0]).toMatchObject({ type: 'profile-response', profile: { displayName: 'Alice Smith' } });
    expect(((await f.exp.followUps(stranger))[0] as EnvelopeOf<'profile-response'>).profile.email).toBeUndefined();
    const unknown = { ...ask, to: { ...aliceAddr, id: 'ghost@parley.local' } };
    expect((await f.exp.followUps(unknown))[0]).toMatchObject({ type: 'error', code: 'RECIPIENT_UNKNOWN', target: ask.id });
  });

  it('errors name what failed and why; policy refusals of a turn and presence failures stay quiet', async () => {
    const sent = only(envs(await f.exp.handle(turn(text(alice, '@bob are you there')))));
    const err = (code: string, target: string) => fromBob('error', { code, message: `detail for ${code}`, target, retryable: false });
    const shown = await f.exp.render(err('UNDELIVERABLE', sent.id));
    expect(shown?.activity.text).toContain('Your message “are you there” to Bob (bob@example.org) was not delivered');
    expect(shown?.activity.text).toContain('even after several retries');
    expect((await f.exp.render(err('RECIPIENT_UNAVAILABLE', 'x:unknown')))?.activity.text).toContain('offline');
    expect(await f.exp.render(err('POLICY_DOMAIN_BLOCKED', sent.id))).toBeUndefined();
    expect(await f.exp.render(err('UNDELIVERABLE', 'tp:abc/1#xmpp:bob@example.org'))).toBeUndefined();
    expect(await f.exp.render(fromBob('receipt', { target: sent.id, status: 'delivered' }))).toBeUndefined();
  });

  it('contact responses: declined and removed drop the contact and say so', async () => {
    await f.exp.handle(turn(text(alice, 'add dave@example.org')));
    const dave = { platform: 'xmpp' as const, id: 'dave@example.org', domain: 'example.org' };
    const no = await f.exp.render({ ...fromBob('contact-response', { decision: 'declined' }), from: dave });
    expect(no?.activity.text).toContain('declined your contact request');
    const gone = await f.exp.render(fromBob('contact-response', { decision: 'removed' }));
    expect(gone?.activity.text).toContain('removed you from their contacts');
    const card = JSON.stringify((await f.exp.handle(turn(text(alice, 'contacts')))).replies([])[0]?.attachments);
    expect(card).not.toContain('dave@example.org');
    expect(card).not.toContain('bob@example.org');
    expect(card).toContain('carol@voip.example');
    const rm = await f.exp.handle(turn(text(alice, 'remove sip:carol@voip.example')));
    expect(only(envs(rm))).toMatchObject({ type: 'contact-response', decision: 'removed', to: { id: 'carol@voip.example' } });
    expect(replyTexts(rm)[0]).toContain('Removed');
  });

  it("an administrator's revocation (CONTACT_REVOKED) drops the contact and tells the user", async () => {
    await f.exp.handle(turn(text(alice, 'add xmpp:erin@example.org')));
    const erin = { platform: 'xmpp' as const, id: 'erin@example.org', domain: 'example.org' };
    const before = JSON.stringify((await f.exp.handle(turn(text(alice, 'contacts')))).replies([])[0]?.attachments);
    expect(before).toContain('erin@example.org');
    const shown = await f.exp.render({ ...fromBob('error', { code: 'CONTACT_REVOKED', message: 'An administrator removed this contact', retryable: false }), from: erin });
    expect(shown?.activity.text).toContain("administrator removed erin@example.org from your contacts");
    const after = JSON.stringify((await f.exp.handle(turn(text(alice, 'contacts')))).replies([])[0]?.attachments);
    expect(after).not.toContain('erin@example.org');
  });

  it('redelivered activities make the same envelope ids', async () => {
    const a = text(alice, '@bob once');
    const [one, two] = [envs(await f.exp.handle(turn(a))), envs(await f.exp.handle(turn(a)))];
    expect(one[0]?.id).toBe(two[0]?.id);
    expect(accepted(await f.exp.handle(turn(text(alice, 'contacts'))))).toEqual([]);
  });
});

describe('a first incoming message', () => {
  it('makes its sender the target when the user has none, and says so', async () => {
    const zed = teamsUser('zed', 'Zed');
    await f.exp.handle(turn(personal(zed, { type: 'conversationUpdate', membersAdded: [{ id: '28:parley-bot', name: 'Parley' }] }), zed.member));
    const to: Address = { platform: 'teams', id: 'zed@parley.local', domain: 'parley.local' };
    const first = await f.exp.render(parseEnvelope({ type: 'im', id: 'x:bob@example.org/z1', ts: 1, from: bob, to, body: { blocks: [{ t: 'p', c: [{ t: 'text', v: 'hi Zed' }] }] } }));
    expect(first?.activity.text).toContain('Your messages here now go to Bob (bob@example.org)');
    const second = await f.exp.render(parseEnvelope({ type: 'im', id: 'x:carol@voip.example/z2', ts: 2, from: carol, to, body: { blocks: [{ t: 'p', c: [{ t: 'text', v: 'me too' }] }] } }));
    expect(second?.activity.text).not.toContain('now go to');
    expect(only(envs(await f.exp.handle(turn(text(zed, 'hello back')))))).toMatchObject({ type: 'im', to: { id: 'bob@example.org' } });
  });

  it('shows a sender without a name by its address, once', async () => {
    const zed: Address = { platform: 'xmpp', id: 'zed@example.net', domain: 'example.net' };
    const shown = await f.exp.render({ ...fromBob('im', { body: { blocks: [{ t: 'p', c: [{ t: 'text', v: 'hi' }] }] } }, 'x:zed@example.net/1'), from: zed });
    expect(shown?.activity.text).toContain('<p><b>zed@example.net</b></p>');
  });
});
