import xml, { type Element } from '@xmpp/xml';
import type { Envelope } from '../../core/envelope.ts';
import { addressOf, envelopeId, parseJid, resolveRef, type Addressing } from './addressing.ts';
import { NS, USER_FEATURES } from './ns.ts';
import { errorReply, readStanzaError } from './stanza-errors.ts';
import { vcardToProfile } from './vcard.ts';

export type IqOutcome =
  | { kind: 'reply'; el: Element }
  | { kind: 'envelope'; env: Envelope; stanza: Element }
  | { kind: 'ignore'; reason: string };

export interface IqContext extends Addressing {
  roomsDomain?: string;
  name: string;
}

function result(iq: Element, ...children: Element[]): Element {
  return xml('iq', { type: 'result', id: iq.attrs.id ?? '', from: iq.attrs.to ?? '', to: iq.attrs.from ?? '' }, ...children);
}

function discoInfo(iq: Element, query: Element, isDomain: boolean, ctx: IqContext): Element {
  const identity = isDomain
    ? xml('identity', { category: 'gateway', type: 'teams', name: ctx.name })
    : xml('identity', { category: 'account', type: 'registered' });
  const attrs: Record<string, string> = { xmlns: NS.discoInfo };
  if (query.attrs.node) attrs.node = query.attrs.node;
  return result(iq, xml('query', attrs, identity, ...USER_FEATURES.map((f) => xml('feature', { var: f }))));
}

/** An iq addressed to the component domain or one of its users. */
export function translateIq(iq: Element, ctx: IqContext, now: number): IqOutcome {
  const fromJ = parseJid(iq.attrs.from);
  const toJ = parseJid(iq.attrs.to);
  if (!fromJ || !toJ) return { kind: 'ignore', reason: 'iq without valid from/to' };
  const type = iq.attrs.type;
  const isDomain = !toJ.local;

  if (type === 'result' || type === 'error') {
    // Answers to the vCard requests Parley sent on behalf of a user.
    const id = iq.attrs.id;
    if (!id || isDomain || fromJ.domain === ctx.domain) return { kind: 'ignore', reason: 'answer to nothing Parley asked' };
    const ref = resolveRef(id, fromJ.bare);
    const base = { id: envelopeId(fromJ.bare, `${id}#answer`, 'xq'), ts: now, from: addressOf(fromJ, ctx), to: addressOf(toJ, ctx), replyTo: ref };
    if (type === 'error') {
      const err = readStanzaError(iq);
      return { kind: 'envelope', stanza: iq, env: { ...base, type: 'error', code: err.code, message: err.text || `XMPP error: ${err.condition}`, retryable: false, target: ref } };
    }
    const vcard = iq.getChild('vCard', NS.vcard);
    if (!vcard) return { kind: 'ignore', reason: 'result without a vCard' };
    return { kind: 'envelope', stanza: iq, env: { ...base, type: 'profile-response', profile: vcardToProfile(vcard) } };
  }
  if (type !== 'get' && type !== 'set') return { kind: 'ignore', reason: 'iq of unknown type' };
  const child = iq.getChildElements()[0];
  if (!child || iq.getChildElements().length !== 1) return { kind: 'reply', el: errorReply(iq, 'bad-request', 'modify', 'an iq carries exactly one payload') };
  const ns = child.attrs.xmlns;

  if (type === 'get' && child.name === 'ping' && ns === NS.ping) return { kind: 'reply', el: result(iq) };
  if (type === 'get' && child.name === 'query' && ns === NS.discoInfo) return { kind: 'reply', el: discoInfo(iq, child, isDomain, ctx) };
  if (type === 'get' && child.name === 'query' && ns === NS.discoItems) {
    const items = isDomain && ctx.roomsDomain ? [xml('item', { jid: ctx.roomsDomain, name: `${ctx.name} rooms` })] : [];
    return { kind: 'reply', el: result(iq, xml('query', { xmlns: NS.discoItems }, ...items)) };
  }
  if (type === 'get' && child.name === 'vCard' && ns === NS.vcard && !isDomain) {
    if (fromJ.domain === ctx.domain) return { kind: 'reply', el: errorReply(iq, 'not-allowed', 'cancel') };
    return {
      kind: 'envelope',
      stanza: iq,
      env: { id: envelopeId(fromJ.bare, iq.attrs.id, 'xq'), ts: now, type: 'profile-request', from: addressOf(fromJ, ctx), to: addressOf(toJ, ctx) },
    };
  }
  return { kind: 'reply', el: errorReply(iq, 'service-unavailable', 'cancel') };
}
