import xml, { escapeXML, escapeXMLText, type Element } from '@xmpp/xml';
import type { Envelope } from '../../core/envelope.ts';
import { jidOf, stanzaRef } from './addressing.ts';
import { NS } from './ns.ts';
import { conditionFor, errorChild } from './stanza-errors.ts';
import { renderStyling } from './styling.ts';
import { profileToVcard } from './vcard.ts';

const RETRACT_FALLBACK = 'This person attempted to retract a previous message, but your client does not support it.';

const SHOW: Record<string, string | undefined> = { away: 'away', xa: 'xa', dnd: 'dnd' };

/** Extra state some envelopes need: the sender's whole reaction set after this change. */
export interface OutboundContext {
  readonly reactions?: readonly string[];
  /** The full JID a reply (error, iq result) goes to, when known. */
  readonly replyTo?: string;
  /** The room an invitation is for. */
  readonly roomJid?: string;
  /** Whether a chat message carries XEP-0085 `<active/>` (default true; see ChatStateMemory). */
  readonly active?: boolean;
}

function message(env: Envelope, type: string, ...children: Array<Element | null>): Element {
  return xml('message', { from: jidOf(env.from), to: jidOf(env.to), id: stanzaRef(env.id, env.to.id), type }, ...children);
}


const ACTIVE = `<active xmlns="${NS.chatStates}"/>`;
const RECEIPT_REQUEST = `<request xmlns="${NS.receipts}"/>`;

/**
 * The serialised stanzas of one envelope: toStanzas' output as text. A chat
 * message, by far the most common, is written straight to text (the same
 * bytes the element would serialise to, without building it).
 */
export function toFragment(env: Envelope, ctx: OutboundContext = {}): string {
  if (env.type === 'im' && !ctx.replyTo) {
    const attrs = `from="${escapeXML(jidOf(env.from))}" to="${escapeXML(jidOf(env.to))}" id="${escapeXML(stanzaRef(env.id, env.to.id))}" type="chat"`;
    const text = renderStyling(env.body);
    return `<message ${attrs}>${text ? `<body>${escapeXMLText(text)}</body>` : '<body/>'}${ctx.active === false ? '' : ACTIVE}${env.receiptRequested ? RECEIPT_REQUEST : ''}</message>`;
  }
  let out = '';
  for (const el of toStanzas(env, ctx)) out += el.toString();
  return out;
}

/**
 * XEP-0184: asked for only when the sender wants to know. Teams and SIP users
 * never do, so their messages carry no request, and XMPP clients send back no
 * receipts that nobody would read (a stanza each way per message saved).
 */
function receiptRequest(env: { receiptRequested?: boolean | undefined }): Element | null {
  return env.receiptRequested ? xml('request', { xmlns: NS.receipts }) : null;
}

/** The stanzas that carry one envelope to an XMPP user; [] when XMPP has no form for it. */
export function toStanzas(env: Envelope, ctx: OutboundContext = {}): Element[] {
  const from = jidOf(env.from);
  const to = ctx.replyTo ?? jidOf(env.to);
  const peer = env.to.id;
  switch (env.type) {
    case 'im':
      return [
        message(
          env,
          'chat',
          xml('body', {}, renderStyling(env.body)),
          ctx.active === false ? null : xml('active', { xmlns: NS.chatStates }),
          receiptRequest(env),
        ),
      ];
    case 'edit':
      return [message(env, 'chat', xml('body', {}, renderStyling(env.body)), xml('replace', { xmlns: NS.correction, id: stanzaRef(env.target, peer) }))];
    case 'delete':
      return [
        message(
          env,
          'chat',
          xml('retract', { xmlns: NS.retract, id: stanzaRef(env.target, peer) }),
          xml('fallback', { xmlns: NS.fallback, for: NS.retract }),
          xml('body', {}, RETRACT_FALLBACK),
          xml('store', { xmlns: NS.hints }),
        ),
      ];
    case 'reaction':
      return [
        message(
          env,
          'chat',
          xml('reactions', { xmlns: NS.reactions, id: stanzaRef(env.target, peer) }, ...(ctx.reactions ?? []).map((e) => xml('reaction', {}, e))),
          xml('store', { xmlns: NS.hints }),
        ),
      ];
    case 'typing':
      return [message(env, 'chat', xml(env.state, { xmlns: NS.chatStates }), xml('no-store', { xmlns: NS.hints }))];
    case 'file':
      return [
        message(
          env,
          'chat',
          xml('body', {}, env.url),
          xml('x', { xmlns: NS.oob }, xml('url', {}, env.url), xml('desc', {}, env.name)),
          receiptRequest(env),
        ),
      ];
    case 'receipt':
      if (env.status !== 'delivered') return [];
      return [message(env, 'chat', xml('received', { xmlns: NS.receipts, id: stanzaRef(env.target, peer) }), xml('store', { xmlns: NS.hints }))];
    case 'presence': {
      if (env.show === 'offline') return [xml('presence', { from, to, type: 'unavailable' }, env.status ? xml('status', {}, env.status) : null)];
      const show = SHOW[env.show];
      return [xml('presence', { from, to }, show ? xml('show', {}, show) : null, env.status ? xml('status', {}, env.status) : null)];
    }
    case 'contact-request':
      return [xml('presence', { from, to, type: 'subscribe', id: stanzaRef(env.id, peer) }, env.message ? xml('status', {}, env.message) : null)];
    case 'contact-response':
      if (env.decision === 'accepted') {
        // Approve theirs and ask for theirs: a Teams contact is mutual.
        return [xml('presence', { from, to, type: 'subscribed', id: stanzaRef(env.id, peer) }), xml('presence', { from, to, type: 'subscribe', id: stanzaRef(`${env.id}#back`, peer) })];
      }
      if (env.decision === 'declined') return [xml('presence', { from, to, type: 'unsubscribed', id: stanzaRef(env.id, peer) })];
      return [xml('presence', { from, to, type: 'unsubscribe', id: stanzaRef(env.id, peer) }), xml('presence', { from, to, type: 'unsubscribed', id: stanzaRef(`${env.id}#both`, peer) })];
    case 'profile-request':
      return [xml('iq', { from, to, type: 'get', id: stanzaRef(env.id, peer) }, xml('vCard', { xmlns: NS.vcard }))];
    case 'profile-response': {
      if (!env.replyTo) return [];
      return [xml('iq', { from, to, type: 'result', id: stanzaRef(env.replyTo, peer) }, profileToVcard(env.profile))];
    }
    case 'invite':
      return [
        message(
          env,
          'normal',
          xml('x', { xmlns: NS.conference, jid: ctx.roomJid ?? env.room.id, ...(env.reason ? { reason: env.reason } : {}) }),
          xml('body', {}, `${env.from.name ?? from} invites you to ${env.room.name ?? env.room.id}${env.reason ? `: ${env.reason}` : ''}`),
        ),
      ];
    case 'error': {
      const [condition, type] = conditionFor(env.code);
      const ref = env.target ? stanzaRef(env.target, peer) : undefined;
      const isIq = env.target?.startsWith(`xq:${peer}/`) ?? false;
      const attrs: Record<string, string> = { from, to, type: 'error', ...(ref ? { id: ref } : {}) };
      return [xml(isIq ? 'iq' : 'message', attrs, errorChild(condition, type, env.message))];
    }
  }
}
