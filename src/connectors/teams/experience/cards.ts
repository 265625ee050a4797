import type { Attachment } from 'botbuilder';
import { z } from 'zod';
import { addressSchema, type Address } from '../../../core/address.ts';
import type { Profile } from '../../../core/envelope.ts';
import { displayAddress } from './addresses.ts';

/** Adaptive Cards the bot shows, and the Action.Submit data that comes back from them. */
export const ADAPTIVE_CARD = 'application/vnd.microsoft.card.adaptive';
const SCHEMA = 'http://adaptivecards.io/schemas/adaptive-card.json';
export const MAX_CONTACTS_SHOWN = 50;

type Element = Record<string, unknown>;

function card(body: Element[], actions: Element[] = []): Attachment {
  return { contentType: ADAPTIVE_CARD, content: { type: 'AdaptiveCard', $schema: SCHEMA, version: '1.4', body, ...(actions.length ? { actions } : {}) } };
}

/** Card TextBlocks read markdown: text from outside shows as typed, never as a link or emphasis. */
export function mdEscape(s: string): string {
  return s.replace(/[\\`*_[\]()~<>#|]/g, '\\$&');
}

const text = (t: string, extra: Element = {}): Element => ({ type: 'TextBlock', text: t, wrap: true, ...extra });
const title = (t: string): Element => text(t, { weight: 'Bolder', size: 'Medium' });

export function who(a: Pick<Address, 'platform' | 'id' | 'name'>): string {
  const addr = displayAddress(a);
  return a.name && a.name !== a.id ? `${a.name} (${addr})` : addr;
}

export const PLATFORM_LABEL: Record<string, string> = { xmpp: 'XMPP', sip: 'SIP', teams: 'Teams', loopback: 'Loopback' };

/** What an Accept / Decline button sends back (Action.Submit `data`). */
export const contactDecisionSchema = z.object({
  parley: z.literal('contact-response'),
  decision: z.enum(['accepted', 'declined']),
  peer: addressSchema,
  request: z.string().min(1).max(256),
});
export type ContactDecision = z.infer<typeof contactDecisionSchema>;

export function contactRequestCard(peer: Address, requestId: string, message?: string): Attachment {
  const data = (decision: 'accepted' | 'declined'): ContactDecision => ({ parley: 'contact-response', decision, peer, request: requestId });
  return card(
    [
      title('Contact request'),
      text(`${mdEscape(who(peer))} on ${PLATFORM_LABEL[peer.platform] ?? peer.platform} wants to add you as a contact.`),
      ...(message ? [text(`“${mdEscape(message)}”`, { isSubtle: true })] : []),
    ],
    [
      { type: 'Action.Submit', title: 'Accept', style: 'positive', data: data('accepted') },
      { type: 'Action.Submit', title: 'Decline', style: 'destructive', data: data('declined') },
    ],
  );
}

export interface ContactRow {
  address: Address;
  state: 'pending-out' | 'pending-in' | 'accepted';
  show?: string;
  status?: string;
}

const SHOW_LABEL: Record<string, string> = { available: '🟢 available', away: '🟡 away', xa: '🟠 away (extended)', dnd: '🔴 do not disturb', offline: '⚪ offline' };

export function presenceLabel(r: Pick<ContactRow, 'state' | 'show'>): string {
  if (r.state === 'pending-out') return '⏳ request sent';
  if (r.state === 'pending-in') return '✉️ asks to add you';
  return SHOW_LABEL[r.show ?? 'offline'] ?? r.show ?? 'unknown';
}

export function contactsCard(rows: readonly ContactRow[]): Attachment {
  if (rows.length === 0) return card([title('Contacts'), text('You have no contacts yet. Add one with `add user@domain`.')]);
  const shown = rows.slice(0, MAX_CONTACTS_SHOWN);
  const items: Element[] = shown.map((r) => ({
    type: 'ColumnSet',
    separator: true,
    columns: [
      { type: 'Column', width: 'stretch', items: [text(mdEscape(r.address.name ?? r.address.id), { weight: 'Bolder' }), text(mdEscape(displayAddress(r.address)), { isSubtle: true, spacing: 'None' })] },
      { type: 'Column', width: 'auto', items: [text(PLATFORM_LABEL[r.address.platform] ?? r.address.platform)] },
      { type: 'Column', width: 'stretch', items: [text(presenceLabel(r)), ...(r.status ? [text(mdEscape(r.status), { isSubtle: true, spacing: 'None' })] : [])] },
    ],
  }));
  const more = rows.length > shown.length ? [text(`…and ${rows.length - shown.length} more.`, { isSubtle: true })] : [];
  return card([title(`Contacts (${rows.length})`), ...items, ...more]);
}

export function profileCard(peer: Address, p: Profile): Attachment {
  const rows: Array<[string, string | undefined]> = [
      ['Name', p.displayName],
      ['Address', displayAddress(peer)],
      ['Platform', PLATFORM_LABEL[peer.platform] ?? peer.platform],
      ['Email', p.email],
      ['Title', p.title],
      ['Organization', p.organization],
    ['Phone', p.phone],
  ];
  const facts = rows.flatMap(([t, v]) => (v ? [{ title: t, value: mdEscape(v) }] : []));
  const avatar = p.avatarUrl && /^https:\/\//i.test(p.avatarUrl) ? [{ type: 'Image', url: p.avatarUrl, size: 'Medium', style: 'Person' }] : [];
  return card([title(`Profile of ${mdEscape(p.displayName ?? peer.id)}`), ...avatar, { type: 'FactSet', facts }]);
}

export function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let v = bytes / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}

export function fileCard(sender: Address, f: { name: string; size: number; mime: string; url: string; expiresAt?: number }): Attachment {
  const expires = f.expiresAt ? [text(`Link valid until ${new Date(f.expiresAt).toISOString().replace('T', ' ').slice(0, 16)} UTC`, { isSubtle: true })] : [];
  return card(
    [text(`${mdEscape(who(sender))} sent a file`, { weight: 'Bolder' }), text(`📎 ${mdEscape(f.name)} (${formatSize(f.size)})`), ...expires],
    [{ type: 'Action.OpenUrl', title: 'Download', url: f.url }],
  );
}
