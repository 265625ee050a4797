import type { Activity } from 'botbuilder';
import { addressKey, type Address } from '../../../core/address.ts';
import type { Envelope } from '../../../core/envelope.ts';
import { toPlainText, type RichText } from '../../../core/richtext.ts';
import type { ReadMessage } from './activity-read.ts';
import { displayAddress, parseAddress } from './addresses.ts';
import { who } from './cards.ts';
import type { ExperienceContext } from './context.ts';
import { activityEnvelopeId } from './ids.ts';
import type { PlanBuilder } from './replies.ts';
import { esc } from './replies.ts';
import type { StoredContact } from './store.ts';

/** One inbound activity being handled. */
export interface Turn {
  ctx: ExperienceContext;
  a: Readonly<Activity>;
  /** The sender's Parley address. */
  me: Address;
  plan: PlanBuilder;
  now: number;
  personal: boolean;
  /** Group chat or channel id (undefined in a personal chat). */
  chatId: string | undefined;
  /** The conversation key of this turn (`user:...` / `chat:...`). */
  conversation: string;
}

/** Presence envelopes from the user to their accepted contacts (or to `only`). */
export async function presenceTo(t: Turn, p: { show: 'available' | 'away' | 'dnd' | 'offline'; status?: string }, only?: readonly Address[]): Promise<Envelope[]> {
  const to = only ?? (await t.ctx.store.contacts(t.me.id)).filter((c) => c.state === 'accepted').map((c) => c.address);
  const actId = t.a.id ?? String(t.now);
  return to.map((x) => ({ type: 'presence', id: activityEnvelopeId('tp', t.a.conversation.id, actId, addressKey(x)), ts: t.now, from: t.me, to: x, show: p.show, ...(p.status ? { status: p.status } : {}) }));
}

export type Resolved = { ok: true; address: Address; contact?: StoredContact } | { ok: false; reason: string };

const norm = (s: string) => s.toLowerCase().replace(/\s+/g, '');

/** A contact by address, name or user name; else any valid address. Ambiguity is an error, never a guess. */
export async function resolveTarget(t: Turn, input: string): Promise<Resolved> {
  const q = norm(input.replace(/^@/, ''));
  const contacts = await t.ctx.store.contacts(t.me.id);
  const exact = contacts.filter((c) => norm(c.address.id) === q || norm(displayAddress(c.address)) === q || norm(`${c.address.platform}:${c.address.id}`) === q);
  const byName = exact.length ? exact : contacts.filter((c) => (c.address.name && norm(c.address.name) === q) || norm(c.address.id.split('@')[0] ?? '') === q);
  const partial = byName.length ? byName : contacts.filter((c) => c.address.name && norm(c.address.name).startsWith(q) && q.length >= 2);
  if (partial.length === 1 && partial[0]) return { ok: true, address: partial[0].address, contact: partial[0] };
  if (partial.length > 1) {
    const names = partial.slice(0, 5).map((c) => `<code>${esc(displayAddress(c.address))}</code>`).join(', ');
    return { ok: false, reason: `“${esc(input)}” could be ${names}: write the full address.` };
  }
  const p = parseAddress(input, t.ctx.rules);
  if (p.ok) return { ok: true, address: p.address };
  return { ok: false, reason: `No contact called “${esc(input)}”, and it is not an address (${esc(p.reason)}). Type <code>contacts</code> to see yours.` };
}

/** File envelopes (with signed Parley links) for each file and recipient, and the files that could not be shared. */
export async function sendFiles(t: Turn, m: ReadMessage, to: readonly Address[]): Promise<{ envs: Envelope[]; refusals: string[] }> {
  const envs: Envelope[] = [];
  const refusals: string[] = [];
  const actId = t.a.id ?? String(t.now);
  for (const [i, f] of m.files.entries()) {
    const refused = t.ctx.files.refuse(f.downloadUrl);
    if (refused) {
      refusals.push(`${f.name} was not shared: ${refused}.`);
      continue;
    }
    const link = await t.ctx.files.create(f);
    to.forEach((x, j) =>
      envs.push({ type: 'file', id: activityEnvelopeId('t', t.a.conversation.id, actId, `f${i}~${j}`), ts: t.now, from: t.me, to: x, name: f.name, size: f.size, mime: f.mime, url: link.url, expiresAt: link.expiresAt, ...(t.chatId ? { chatId: t.chatId } : {}) }),
    );
  }
  return { envs, refusals };
}

export function whoList(as: readonly Address[]): string {
  const shown = as.slice(0, 5).map((a) => who(a));
  return as.length > 5 ? `${shown.join(', ')} and ${as.length - 5} more` : shown.join(', ');
}

export function excerptOf(body: RichText): string {
  const s = toPlainText(body).replace(/\s+/g, ' ').trim();
  return s.length > 80 ? `${s.slice(0, 79)}…` : s;
}
