import type { Activity } from 'botbuilder';
import type { Address } from '../../../core/address.ts';
import type { Envelope, EnvelopeOf } from '../../../core/envelope.ts';
import type { OutboundPlan } from '../contract.ts';
import { displayAddress } from './addresses.ts';
import { contactRequestCard, fileCard, PLATFORM_LABEL, presenceLabel, profileCard, who } from './cards.ts';
import type { ExperienceContext } from './context.ts';
import { richTextToHtml } from '../../../core/richtext-html.ts';
import { followUpId, isTurnId } from './ids.ts';
import { esc, say, showCard } from './replies.ts';
import { excerptOf } from './turn.ts';

/** Envelopes for Teams users -> what the bot posts, updates or deletes; and the answers Parley gives for them. */
export function conversationFor(env: Envelope): string {
  return env.chatId ? `chat:${env.chatId}` : `user:${env.to.id}`;
}

/** The sender's name and address, or (without a name) the address once. */
function sender(env: Envelope): string {
  const a = env.from;
  const platform = PLATFORM_LABEL[a.platform] ?? a.platform;
  const named = a.name !== undefined && a.name !== a.id;
  const details = [...(named ? [displayAddress(a)] : []), ...(env.chatId ? [platform] : [])];
  return `<b>${esc(named ? (a.name as string) : displayAddress(a))}</b>${details.length > 0 ? ` <i>(${esc(details.join(', '))})</i>` : ''}`;
}

function plan(env: Envelope, activity: Partial<Activity>, replaces?: OutboundPlan['replaces']): OutboundPlan {
  return { conversation: conversationFor(env), activity, ...(replaces ? { replaces } : {}) };
}

async function withContactName(ctx: ExperienceContext, env: Envelope): Promise<Envelope> {
  if (env.from.name || env.chatId) return env;
  const c = await ctx.store.contact(env.to.id, env.from);
  return c?.address.name ? { ...env, from: { ...env.from, name: c.address.name } } : env;
}

export async function render(ctx: ExperienceContext, input: Envelope): Promise<OutboundPlan | undefined> {
  const env = await withContactName(ctx, input);
  switch (env.type) {
    case 'im': {
      const quoted = env.replyTo ? await ctx.store.excerpt(env.replyTo) : undefined;
      const quote = quoted ? `<blockquote>${esc(quoted)}</blockquote>` : '';
      // With nobody chosen yet, the first person to write becomes the one plain messages answer; the user is told.
      let hint = '';
      if (!env.chatId && !(await ctx.store.target(env.to.id))) {
        await ctx.store.setTarget(env.to.id, env.from);
        hint = `<p><i>Your messages here now go to ${esc(who(env.from))}; <code>chat user@domain</code> changes that.</i></p>`;
      }
      return plan(env, say(`<p>${sender(env)}</p>${quote}${richTextToHtml(env.body)}${hint}`));
    }
    case 'edit': {
      const shown = await ctx.store.shownAt(env.target);
      const html = `<p>${sender(env)} <i>(edited)</i></p>${richTextToHtml(env.body)}`;
      return shown ? plan(env, say(html), { activityId: shown.activityId, op: 'update' }) : plan(env, say(html));
    }
    case 'delete': {
      const shown = await ctx.store.shownAt(env.target);
      return shown ? plan(env, { type: 'message' }, { activityId: shown.activityId, op: 'delete' }) : undefined;
    }
    case 'reaction': {
      const excerpt = await ctx.store.excerpt(env.target);
      const what = excerpt ? `“${esc(excerpt)}”` : 'a message';
      return plan(env, say(env.action === 'add' ? `${sender(env)} reacted ${esc(env.emoji)} to ${what}` : `${sender(env)} removed their ${esc(env.emoji)} from ${what}`));
    }
    case 'typing':
      return env.state === 'composing' ? plan(env, { type: 'typing' }) : undefined;
    case 'presence':
      return presence(ctx, env);
    case 'contact-request':
      return contactRequest(ctx, env);
    case 'contact-response':
      return contactResponse(ctx, env);
    case 'profile-request':
    case 'receipt':
      return undefined;
    case 'profile-response':
      return plan(env, showCard(profileCard(env.from, env.profile)));
    case 'file':
      return plan(env, showCard(fileCard(env.from, env)));
    case 'invite':
      return plan(env, say(`${sender(env)} invites you to <b>${esc(env.room.name ?? env.room.id)}</b>${env.reason ? `: ${esc(env.reason)}` : ''}. Parley cannot join you to rooms outside Teams; answer them to arrange another way.`));
    case 'error':
      return error(ctx, env);
  }
}

async function presence(ctx: ExperienceContext, env: EnvelopeOf<'presence'>): Promise<OutboundPlan | undefined> {
  if (env.chatId) return undefined;
  const user = env.to.id;
  const c = await ctx.store.contact(user, env.from);
  if (!c) return undefined;
  const changed = c.show !== env.show;
  await ctx.store.putContact(user, { ...c, show: env.show, ...(env.status !== undefined ? { status: env.status } : { status: undefined }) });
  if (!changed || c.state !== 'accepted') return undefined;
  // Only the contact the user is chatting with is announced; `contacts` shows the rest.
  const target = await ctx.store.target(user);
  if (!target || target.platform !== env.from.platform || target.id !== env.from.id) return undefined;
  return plan(env, say(`${esc(who(c.address))} is now ${esc(presenceLabel({ state: 'accepted', show: env.show }))}${env.status ? `: ${esc(env.status)}` : ''}`));
}

async function contactRequest(ctx: ExperienceContext, env: EnvelopeOf<'contact-request'>): Promise<OutboundPlan | undefined> {
  const user = env.to.id;
  const c = await ctx.store.contact(user, env.from);
  // Someone we asked, or already have, asking back: answered automatically (followUps), nothing to show.
  if (c?.state === 'accepted' || c?.state === 'pending-out') {
    if (c.state === 'pending-out') await ctx.store.putContact(user, { ...c, state: 'accepted' });
    return undefined;
  }
  const stored = await ctx.store.putContact(user, { address: env.from, state: 'pending-in', since: env.ts, request: env.id });
  if (!stored) return plan(env, say(`${esc(who(env.from))} wants to add you as a contact, but your contact list is full: remove someone first.`));
  return plan(env, showCard(contactRequestCard(env.from, env.id, env.message)));
}

async function contactResponse(ctx: ExperienceContext, env: EnvelopeOf<'contact-response'>): Promise<OutboundPlan | undefined> {
  const user = env.to.id;
  const c = await ctx.store.contact(user, env.from);
  const name = esc(who(c?.address.name ? c.address : env.from));
  if (env.decision === 'accepted') {
    if (!c || c.state === 'accepted') return undefined;
    await ctx.store.putContact(user, { ...c, address: { ...c.address, ...(env.from.name ? { name: env.from.name } : {}) }, state: 'accepted' });
    return plan(env, say(`✅ ${name} accepted your contact request. Write <code>chat ${esc(displayAddress(env.from))}</code> to talk to them.`));
  }
  if (!c) return undefined;
  await ctx.store.dropContact(user, env.from);
  if (env.decision === 'declined') return plan(env, say(c.state === 'pending-in' ? `${name} withdrew their contact request.` : `${name} declined your contact request.`));
  return plan(env, say(`${name} removed you from their contacts.`));
}

const REASONS: Partial<Record<EnvelopeOf<'error'>['code'], string>> = {
  POLICY_DOMAIN_BLOCKED: "federation with their domain is blocked by your organisation's policy",
  POLICY_PLATFORM_BLOCKED: "your organisation's policy does not allow this platform for their domain",
  POLICY_USER_DISABLED: 'federation is turned off for this user',
  RECIPIENT_UNAVAILABLE: 'they are offline and their server keeps no messages for them',
  RECIPIENT_UNKNOWN: 'there is no such user',
  UNDELIVERABLE: 'their side could not be reached, even after several retries',
  DELIVERY_REJECTED: 'their side refused it',
  DELIVERY_TIMEOUT: 'their side did not answer in time',
  NO_CONNECTOR: 'Parley is not connected to their platform',
};

async function error(ctx: ExperienceContext, env: EnvelopeOf<'error'>): Promise<OutboundPlan | undefined> {
  if (env.code === 'CONTACT_REVOKED') {
    await ctx.store.dropContact(env.to.id, env.from);
    return plan(env, say(`🚫 Your organisation's administrator removed ${esc(who(env.from))} from your contacts: you no longer share presence or chat through Parley.`));
  }
  // Presence, typing and Parley's automatic answers that did not arrive are not worth a message;
  // policy refusals of a turn were answered in the turn.
  if (isTurnId(env.target, ['tp', 'ty', 'tf'])) return undefined;
  if (env.code.startsWith('POLICY_') && isTurnId(env.target, ['t'])) return undefined;
  const excerpt = env.target ? await ctx.store.excerpt(env.target) : undefined;
  const room = ctx.roomsDomain !== undefined && env.from.domain === ctx.roomsDomain;
  const whom = room ? 'the people in this conversation on XMPP' : esc(who(env.from));
  const what = excerpt ? `Your message “${esc(excerpt)}” to ${whom}` : `What you sent to ${whom}`;
  const reason = REASONS[env.code] ?? 'it failed';
  return plan(env, say(`⚠️ ${what} was not delivered: ${esc(reason)}.<br><i>${esc(env.message.slice(0, 300))}</i>`));
}

/** What the transport posted for `env` (its activity id), for later edits, deletes, quotes and reactions. */
export async function recordSent(ctx: ExperienceContext, env: Envelope, p: OutboundPlan, activityId: string): Promise<void> {
  if (p.replaces) return;
  if (env.type === 'im' || env.type === 'file' || (env.type === 'edit' && !p.replaces)) {
    const excerpt = env.type === 'file' ? `📎 ${env.name}` : excerptOf(env.body);
    await ctx.store.recordPost(p.conversation, activityId, env.id, { env: env.type === 'edit' ? env.target : env.id, peer: env.from, ...(env.chatId ? { chatId: env.chatId } : {}) }, excerpt);
  }
}

/** Envelopes Parley sends on the Teams user's behalf in answer to `env`. Reads state only. */
export async function followUps(ctx: ExperienceContext, env: Envelope): Promise<Envelope[]> {
  if (env.type === 'profile-request') {
    const u = await ctx.directory.get(env.to.id);
    const base = { id: followUpId(env.id, 'profile'), ts: ctx.now(), from: env.to, to: env.from, replyTo: env.id };
    if (!u) return [{ ...base, type: 'error', code: 'RECIPIENT_UNKNOWN', message: `${env.to.id} is not a Parley user`, target: env.id, retryable: false }];
    // The email goes to contacts only: anyone else who guesses an address learns no more than a name.
    const contact = await ctx.store.contact(env.to.id, env.from);
    const email = contact?.state === 'accepted' ? u.email : undefined;
    return [{ ...base, type: 'profile-response', profile: { ...(u.name ? { displayName: u.name } : {}), ...(email ? { email } : {}) } }];
  }
  if (env.type === 'contact-request' && !env.chatId) {
    const c = await ctx.store.contact(env.to.id, env.from);
    if (c?.state === 'accepted' || c?.state === 'pending-out') {
      const to: Address = { ...env.from };
      return [{ id: followUpId(env.id, 'accept'), ts: ctx.now(), type: 'contact-response', decision: 'accepted', from: env.to, to, replyTo: env.id }];
    }
  }
  return [];
}
