import type { Activity } from 'botbuilder';
import { addressKey, type Address } from '../../../core/address.ts';
import type { Envelope } from '../../../core/envelope.ts';
import { fromPlainText, type RichText } from '../../../core/richtext.ts';
import type { InboundTurn, TurnPlan } from '../contract.ts';
import { isPersonal, reactionEmoji, readMessage, type ReadMessage } from './activity-read.ts';
import { displayAddress, parseAddress } from './addresses.ts';
import { contactDecisionSchema, contactsCard, who } from './cards.ts';
import { dropLeadingChars, parseCommand } from './commands.ts';
import { groupChatId, type ExperienceContext } from './context.ts';
import { handleGroupMessage, recipientsOf } from './inbound-group.ts';
import { activityEnvelopeId } from './ids.ts';
import { esc, failed, failureText, GROUP_HELP, PERSONAL_HELP, PlanBuilder, say, showCard } from './replies.ts';
import { excerptOf, presenceTo, resolveTarget, sendFiles, type Turn } from './turn.ts';
import { resolveSender } from './users.ts';

/** One inbound activity -> envelopes and replies. */
export async function handleTurn(ctx: ExperienceContext, turn: InboundTurn): Promise<TurnPlan> {
  const plan = new PlanBuilder();
  const a = sane(turn.activity);
  if (!a) return plan.build();
  if (a.recipient?.id && a.from.id === a.recipient.id) return plan.build();
  const personal = isPersonal(a);
  const chatId = personal ? undefined : groupChatId(a.conversation.id);
  const now = ctx.now();
  const { address: me } = await resolveSender(ctx, a, () => turn.member(), now, a.type === 'conversationUpdate');
  plan.conversationKey = personal ? `user:${me.id}` : `chat:${chatId}`;
  const t: Turn = { ctx, a, me, plan, now, personal, chatId, conversation: plan.conversationKey };

  switch (a.type) {
    case 'message':
      await refreshPresence(t);
      if (a.value !== undefined && a.value !== null && !a.text) await cardAction(t, a.value);
      else if (personal) await personalMessage(t, readMessage(a, true));
      else await handleGroupMessage(t, readMessage(a, false));
      break;
    case 'invoke':
      if (a.name === 'adaptiveCard/action') {
        const data = (a.value as { action?: { data?: unknown } } | undefined)?.action?.data;
        await cardAction(t, data);
        plan.invokeResponse = { status: 200, body: { statusCode: 200, type: 'application/vnd.microsoft.activity.message', value: 'Done' } };
      } else plan.invokeResponse = { status: 501 };
      break;
    case 'messageReaction':
      await reactions(t);
      break;
    case 'messageUpdate':
    case 'messageDelete':
      await editOrDelete(t);
      break;
    case 'typing':
      await typing(t);
      break;
    case 'conversationUpdate':
      if ((a.membersAdded ?? []).some((m) => (m as { id?: unknown } | null)?.id === a.recipient?.id)) plan.reply(say(personal ? `Welcome, ${esc(me.name ?? me.id)}! Your address for people on other platforms is <b>${esc(me.id)}</b>.<br>${PERSONAL_HELP}` : GROUP_HELP));
      break;
  }
  return plan.build();
}

const isStr = (v: unknown, max: number): v is string => typeof v === 'string' && v.length > 0 && v.length <= max;
const arrayOr = <T>(v: unknown): T[] | undefined => (Array.isArray(v) ? (v as T[]) : undefined);

/** The activity with the fields the experience reads checked for type and size; undefined when unusable. */
function sane(a: Readonly<Activity> | undefined): Readonly<Activity> | undefined {
  if (!a || typeof a !== 'object' || !isStr(a.type, 64) || !a.from || !isStr(a.from.id, 256) || !a.conversation || !isStr(a.conversation.id, 512)) return undefined;
  if (a.id !== undefined && !isStr(a.id, 256)) return undefined;
  const from = { ...a.from, name: isStr(a.from.name, 1024) ? a.from.name : '', ...(isStr(a.from.aadObjectId, 128) ? { aadObjectId: a.from.aadObjectId } : { aadObjectId: undefined }) };
  return {
    ...a,
    from,
    text: typeof a.text === 'string' ? a.text : '',
    replyToId: isStr(a.replyToId, 256) ? a.replyToId : undefined,
    entities: arrayOr(a.entities)?.slice(0, 100),
    attachments: arrayOr(a.attachments),
    membersAdded: arrayOr(a.membersAdded)?.slice(0, 1000),
    reactionsAdded: arrayOr(a.reactionsAdded),
    reactionsRemoved: arrayOr(a.reactionsRemoved),
  } as Activity;
}

/** Activity refreshes presence: a user's first message makes them available to their contacts. */
async function refreshPresence(t: Turn): Promise<void> {
  if (t.ctx.presenceSet.has(t.me.id)) return;
  const set = await t.ctx.store.setMe(t.me.id, { show: 'available', explicit: false, ts: t.now }, true);
  t.ctx.presenceSet.set(t.me.id, true);
  if (!set) return;
  const envs = await presenceTo(t, { show: 'available' });
  if (envs.length) t.plan.send(envs);
}

async function personalMessage(t: Turn, m: ReadMessage): Promise<void> {
  const cmd = parseCommand(m.text, 'personal');
  const { ctx, me, plan } = t;
  const rules = ctx.rules;
  switch (cmd.kind) {
    case 'help':
      return plan.reply(say(PERSONAL_HELP));
    case 'bad':
      return plan.reply(say(`${esc(cmd.reason)}. Type <code>help</code> for the commands.`));
    case 'contacts':
      return plan.reply(showCard(contactsCard(await ctx.store.contacts(me.id))));
    case 'add': {
      const p = parseAddress(cmd.address, rules);
      if (!p.ok) return plan.reply(say(`${esc(p.reason)}.`));
      const peer = p.address;
      const existing = await ctx.store.contact(me.id, peer);
      if (existing?.state === 'accepted') return plan.reply(say(`${esc(who(existing.address))} is already one of your contacts.`));
      const env: Envelope = { type: 'contact-request', id: activityEnvelopeId('t', t.a.conversation.id, t.a.id ?? String(t.now)), ts: t.now, from: me, to: peer, ...(cmd.message ? { message: cmd.message.slice(0, 1024) } : {}) };
      if (!existing) await ctx.store.putContact(me.id, { address: peer, state: 'pending-out', since: t.now });
      return plan.send([env], ([ack]) => {
        if (!failed(ack)) return say(`Contact request sent to <b>${esc(displayAddress(peer))}</b>. You will see their answer here.`);
        if (!existing) void ctx.store.dropContact(me.id, peer).catch(() => undefined);
        return say(`Could not send a contact request to ${esc(displayAddress(peer))}: ${esc(failureText(ack))}.`);
      });
    }
    case 'remove': {
      const p = parseAddress(cmd.address, rules);
      if (!p.ok) return plan.reply(say(`${esc(p.reason)}.`));
      const existing = await ctx.store.contact(me.id, p.address);
      if (!existing) return plan.reply(say(`${esc(displayAddress(p.address))} is not in your contacts.`));
      const decision = existing.state === 'pending-in' ? 'declined' : 'removed';
      await ctx.store.dropContact(me.id, p.address);
      const env: Envelope = { type: 'contact-response', id: activityEnvelopeId('t', t.a.conversation.id, t.a.id ?? String(t.now)), ts: t.now, from: me, to: existing.address, decision };
      return plan.send([env], ([ack]) => say(failed(ack) ? `Removed ${esc(who(existing.address))} from your contacts here, but could not tell them: ${esc(failureText(ack))}.` : `Removed ${esc(who(existing.address))} from your contacts.`));
    }
    case 'profile': {
      const p = parseAddress(cmd.address, rules);
      if (!p.ok) return plan.reply(say(`${esc(p.reason)}.`));
      const env: Envelope = { type: 'profile-request', id: activityEnvelopeId('t', t.a.conversation.id, t.a.id ?? String(t.now)), ts: t.now, from: me, to: p.address };
      return plan.send([env], ([ack]) => (failed(ack) ? say(`Could not ask ${esc(displayAddress(p.address))} for their profile: ${esc(failureText(ack))}.`) : undefined));
    }
    case 'chat': {
      const r = await resolveTarget(t, cmd.target);
      if (!r.ok) return plan.reply(say(r.reason));
      await ctx.store.setTarget(me.id, r.address);
      const note = r.contact?.state === 'accepted' ? '' : ' They are not (yet) one of your contacts, so they may not accept messages from you.';
      return plan.reply(say(`Now chatting with <b>${esc(who(r.address))}</b>: your messages here go to them.${esc(note)} Use <code>@name message</code> to write to someone else once.`));
    }
    case 'status': {
      const presence = { show: cmd.show, ...(cmd.text ? { status: cmd.text } : {}) };
      await ctx.store.setMe(me.id, { ...presence, explicit: true, ts: t.now });
      const envs = await presenceTo(t, presence);
      const label = `${cmd.show}${cmd.text ? ` (“${cmd.text}”)` : ''}`;
      return plan.send(envs, (acks) => say(`Your status is now <b>${esc(label)}</b>; ${acks.filter((k) => !failed(k)).length} of ${envs.length} contacts were told.`));
    }
    case 'once': {
      const r = await resolveTarget(t, cmd.target);
      if (!r.ok) return plan.reply(say(r.reason));
      const body = dropLeadingChars(m.body, cmd.offset) ?? fromPlainText(m.text.slice(cmd.offset).trim());
      return sendTo(t, r.address, body, m, undefined);
    }
    case 'message': {
      let to: Address | undefined;
      let replyTo: string | undefined;
      if (m.quotedId) {
        const sent = await ctx.store.sent(t.conversation, m.quotedId);
        if (sent) {
          to = sent.peer;
          replyTo = sent.env;
        }
      }
      to ??= await ctx.store.target(me.id);
      if (!to) {
        if (m.files.length === 0 && m.text === '') return;
        return plan.reply(say('Who is this for? Pick a contact with <code>chat user@domain</code>, write <code>@name message</code>, or reply to (quote) one of their messages. Type <code>help</code> for more.'));
      }
      return sendTo(t, to, m.body, m, replyTo);
    }
  }
}

async function sendTo(t: Turn, to: Address, body: RichText, m: ReadMessage, replyTo: string | undefined): Promise<void> {
  const { a, me, plan } = t;
  const actId = a.id ?? String(t.now);
  const envs: Envelope[] = [];
  if (body.blocks.length > 0) envs.push({ type: 'im', id: activityEnvelopeId('t', a.conversation.id, actId), ts: t.now, from: me, to, body, ...(replyTo ? { replyTo } : {}) });
  const files = await sendFiles(t, m, [to]);
  envs.push(...files.envs);
  for (const r of files.refusals) plan.reply(say(esc(r)));
  if (m.unsupported.length) plan.reply(say(`Not forwarded (Parley cannot carry these yet): ${esc(m.unsupported.join(', '))}.`));
  if (m.truncated) plan.reply(say('Your message was too long and was shortened.'));
  if (envs.length === 0) return;
  await t.ctx.store.recordOut(t.conversation, actId, envs.filter((e) => e.type === 'im').map((e) => ({ to: e.to, id: e.id })), excerptOf(body));
  plan.send(envs, (acks) => {
    const bad = acks.map((k, i) => [k, envs[i]] as const).filter(([k]) => failed(k));
    if (bad.length === 0) return undefined;
    return say(`Your message to ${esc(who(to))} was not sent: ${esc(failureText(bad[0]?.[0]))}.`);
  });
}

async function cardAction(t: Turn, value: unknown): Promise<void> {
  const { ctx, me, plan } = t;
  const d = contactDecisionSchema.safeParse(value);
  if (!d.success) return plan.reply(say('That button is not one Parley understands any more. Type <code>help</code> for the commands.'));
  const peer = d.data.peer;
  const existing = await ctx.store.contact(me.id, peer);
  if (existing?.state !== 'pending-in') {
    const state = existing?.state === 'accepted' ? 'is already one of your contacts' : 'has no pending request for you (answered already?)';
    return plan.reply(say(`${esc(who(peer))} ${state}.`));
  }
  const env: Envelope = { type: 'contact-response', id: activityEnvelopeId('t', t.a.conversation.id, t.a.id ?? String(t.now), d.data.decision), ts: t.now, from: me, to: existing.address, decision: d.data.decision, replyTo: d.data.request };
  if (d.data.decision === 'accepted') await ctx.store.putContact(me.id, { ...existing, state: 'accepted', since: t.now, request: undefined });
  else await ctx.store.dropContact(me.id, peer);
  const envs: Envelope[] = [env];
  const mine = d.data.decision === 'accepted' ? await ctx.store.me(me.id) : undefined;
  if (mine) envs.push(...(await presenceTo(t, { show: mine.show, ...(mine.status ? { status: mine.status } : {}) }, [existing.address])));
  plan.send(envs, ([ack]) => {
    if (failed(ack)) {
      void ctx.store.putContact(me.id, existing).catch(() => undefined);
      return say(`Could not answer ${esc(who(peer))}: ${esc(failureText(ack))}.`);
    }
    return say(d.data.decision === 'accepted' ? `You accepted <b>${esc(who(peer))}</b>. Write <code>chat ${esc(displayAddress(peer))}</code> to talk to them.` : `You declined the request from ${esc(who(peer))}.`);
  });
}

function reactionType(r: unknown): string {
  const type = (r as { type?: unknown } | null)?.type;
  return typeof type === 'string' && type.length <= 64 ? type : '';
}

async function reactions(t: Turn): Promise<void> {
  const { ctx, a, me, plan } = t;
  const target = typeof a.replyToId === 'string' ? a.replyToId : undefined;
  if (!target) return;
  const changes = [
    ...(a.reactionsAdded ?? []).map((r) => ({ type: reactionType(r), action: 'add' as const })),
    ...(a.reactionsRemoved ?? []).map((r) => ({ type: reactionType(r), action: 'remove' as const })),
  ].filter((c) => c.type).slice(0, 20);
  if (changes.length === 0) return;
  const sent = await ctx.store.sent(t.conversation, target);
  const targets: Array<{ to: Address; id: string }> = [];
  if (sent) targets.push({ to: t.chatId ? (recipientsOf(t, [sent.peer])[0] ?? sent.peer) : sent.peer, id: sent.env });
  else if (!t.personal) targets.push(...(await ctx.store.out(t.conversation, target)));
  const stamp = String(Date.parse(String(a.timestamp ?? '')) || t.now);
  const envs: Envelope[] = [];
  for (const c of changes) {
    targets.forEach((x, i) =>
      envs.push({ type: 'reaction', id: activityEnvelopeId('t', a.conversation.id, target, `r${i}:${c.action}:${c.type.slice(0, 40)}:${me.id}:${stamp}`), ts: t.now, from: me, to: x.to, target: x.id, emoji: reactionEmoji(c.type), action: c.action, ...(t.chatId ? { chatId: t.chatId } : {}) }),
    );
  }
  if (envs.length) plan.send(envs);
}

async function editOrDelete(t: Turn): Promise<void> {
  const { ctx, a, me, plan } = t;
  const eventType = (a.channelData as { eventType?: unknown } | undefined)?.eventType;
  const del = a.type === 'messageDelete';
  if (eventType !== undefined && eventType !== (del ? 'softDeleteMessage' : 'editMessage')) return;
  if (!a.id) return;
  const out = await ctx.store.out(t.conversation, a.id);
  if (out.length === 0) return;
  const stamp = String(Date.parse(String(a.timestamp ?? '')) || t.now);
  if (del) {
    plan.send(out.map((o, i) => ({ type: 'delete', id: activityEnvelopeId('t', a.conversation.id, a.id as string, `d${i}:${stamp}`), ts: t.now, from: me, to: o.to, target: o.id, ...(t.chatId ? { chatId: t.chatId } : {}) })));
    return;
  }
  const m = readMessage(a, t.personal);
  let body = m.body;
  // A personal-chat message sent with `@name` keeps going to that name: drop the prefix again.
  const once = t.personal ? parseCommand(m.text, 'personal') : undefined;
  if (once?.kind === 'once') body = dropLeadingChars(m.body, once.offset) ?? fromPlainText(m.text.slice(once.offset).trim());
  if (body.blocks.length === 0) return;
  plan.send(out.map((o, i) => ({ type: 'edit', id: activityEnvelopeId('t', a.conversation.id, a.id as string, `e${i}:${stamp}`), ts: t.now, from: me, to: o.to, target: o.id, body, ...(t.chatId ? { chatId: t.chatId } : {}) })));
}

async function typing(t: Turn): Promise<void> {
  const { ctx, a, me, plan } = t;
  let to: Address[];
  if (t.personal) {
    const target = await ctx.store.target(me.id);
    to = target ? [target] : [];
  } else to = recipientsOf(t, await ctx.store.bridge(t.chatId as string));
  const stamp = String(Date.parse(String(a.timestamp ?? '')) || t.now);
  const envs: Envelope[] = to.map((x) => ({ type: 'typing', id: activityEnvelopeId('ty', a.conversation.id, a.id ?? stamp, addressKey(x)), ts: t.now, from: me, to: x, state: 'composing', ...(t.chatId ? { chatId: t.chatId } : {}) }));
  if (envs.length) plan.send(envs);
}
