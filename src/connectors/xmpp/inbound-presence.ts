import type { Element } from '@xmpp/xml';
import type { Envelope } from '../../core/envelope.ts';
import { addressOf, envelopeId, parseJid, type Addressing } from './addressing.ts';

export type PresenceShow = Extract<Envelope, { type: 'presence' }>['show'];

export type PresenceOutcome =
  | { kind: 'contact'; env: Envelope }
  | { kind: 'presence'; env: Extract<Envelope, { type: 'presence' }>; resource: string }
  | { kind: 'probe'; from: string; to: string }
  | { kind: 'ignore'; reason: string };

const SHOWS: Record<string, PresenceShow> = { chat: 'available', away: 'away', xa: 'xa', dnd: 'dnd' };

/** RFC 6121 presence to one of Parley's users: subscriptions, probes, availability. */
export function translatePresence(el: Element, a: Addressing, now: number): PresenceOutcome {
  const fromJ = parseJid(el.attrs.from);
  const toJ = parseJid(el.attrs.to);
  if (!fromJ || !toJ) return { kind: 'ignore', reason: 'presence without valid from/to' };
  if (toJ.domain !== a.domain || !toJ.local) return { kind: 'ignore', reason: 'presence not for a user' };
  if (fromJ.domain === a.domain) return { kind: 'ignore', reason: 'presence from our own domain' };
  const from = addressOf(fromJ, a);
  const to = addressOf(toJ, a);
  const type = el.attrs.type;
  const status = el.getChildText('status')?.slice(0, 1024);
  const base = { ts: now, from, to };
  switch (type) {
    case 'subscribe':
      return { kind: 'contact', env: { ...base, id: envelopeId(fromJ.bare, el.attrs.id), type: 'contact-request', ...(status ? { message: status } : {}) } };
    case 'subscribed':
      return { kind: 'contact', env: { ...base, id: envelopeId(fromJ.bare, el.attrs.id), type: 'contact-response', decision: 'accepted' } };
    case 'unsubscribed':
      return { kind: 'contact', env: { ...base, id: envelopeId(fromJ.bare, el.attrs.id), type: 'contact-response', decision: 'declined' } };
    case 'unsubscribe':
      return { kind: 'contact', env: { ...base, id: envelopeId(fromJ.bare, el.attrs.id), type: 'contact-response', decision: 'removed' } };
    case 'probe':
      return { kind: 'probe', from: fromJ.bare, to: toJ.bare };
    case 'error':
      return { kind: 'ignore', reason: 'presence error' };
    case 'unavailable':
    case undefined: {
      const show: PresenceShow = type === 'unavailable' ? 'offline' : (SHOWS[el.getChildText('show')?.trim() ?? ''] ?? 'available');
      return {
        kind: 'presence',
        resource: fromJ.resource,
        env: { ...base, id: envelopeId(fromJ.bare, undefined), type: 'presence', show, ...(status ? { status } : {}) },
      };
    }
    default:
      return { kind: 'ignore', reason: `presence of type ${type}` };
  }
}
