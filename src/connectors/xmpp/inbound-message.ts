import type { Element } from '@xmpp/xml';
import type { Address } from '../../core/address.ts';
import { TYPING_STATES, type Envelope } from '../../core/envelope.ts';
import { addressOf, envelopeId, parseJid, resolveRef, type Addressing } from './addressing.ts';
import { NS } from './ns.ts';
import { readStanzaError, type ErrorType, type StanzaCondition } from './stanza-errors.ts';
import { parseStyling } from './styling.ts';

/** What one inbound <message/> means for Parley. */
export type MessageOutcome =
  | { kind: 'envelopes'; envs: Envelope[] }
  /** XEP-0444 carries the whole set: the connector diffs it against the last one. */
  | { kind: 'reactions'; base: Pick<Envelope, 'id' | 'ts' | 'from' | 'to'>; target: string; emojis: string[] }
  | { kind: 'reject'; condition: StanzaCondition; type: ErrorType; text: string }
  | { kind: 'ignore'; reason: string };

const MAX_REACTIONS = 32;

function fileName(url: string, desc: string | null): string {
  if (desc?.trim()) return desc.trim().slice(0, 512);
  try {
    const last = new URL(url).pathname.split('/').filter(Boolean).pop();
    return last ? decodeURIComponent(last).slice(0, 512) || 'file' : 'file';
  } catch {
    return 'file';
  }
}

export function translateMessage(el: Element, a: Addressing, now: number): MessageOutcome {
  const fromJ = parseJid(el.attrs.from);
  const toJ = parseJid(el.attrs.to);
  if (!fromJ || !toJ) return { kind: 'ignore', reason: 'message without valid from/to' };
  if (toJ.domain !== a.domain || !toJ.local) return { kind: 'reject', condition: 'service-unavailable', type: 'cancel', text: 'no such user' };
  if (fromJ.domain === a.domain) return { kind: 'ignore', reason: 'message from our own domain' };
  const from: Address = addressOf(fromJ, a);
  const to: Address = addressOf(toJ, a);
  const id = envelopeId(fromJ.bare, el.attrs.id);
  const base = { id, ts: now, from, to };
  const type = el.attrs.type ?? 'normal';

  if (type === 'error') {
    const err = readStanzaError(el);
    const target = el.attrs.id ? resolveRef(el.attrs.id, fromJ.bare) : undefined;
    return {
      kind: 'envelopes',
      envs: [
        {
          ...base,
          id: envelopeId(fromJ.bare, `${el.attrs.id ?? ''}#error`),
          type: 'error',
          code: err.code,
          message: err.text || `XMPP error: ${err.condition}`,
          retryable: false,
          ...(target ? { target } : {}),
        },
      ],
    };
  }
  if (type === 'groupchat') return { kind: 'reject', condition: 'feature-not-implemented', type: 'cancel', text: 'groupchat goes to the room service' };

  const received = el.getChild('received', NS.receipts);
  if (received?.attrs.id) {
    return { kind: 'envelopes', envs: [{ ...base, type: 'receipt', target: resolveRef(received.attrs.id, fromJ.bare), status: 'delivered' }] };
  }

  const reactions = el.getChild('reactions', NS.reactions);
  if (reactions?.attrs.id) {
    const emojis = [...new Set(reactions.getChildren('reaction').map((r) => r.getText().trim()).filter((e) => e.length > 0 && e.length <= 64))];
    if (emojis.length > MAX_REACTIONS) return { kind: 'reject', condition: 'not-acceptable', type: 'modify', text: 'too many reactions' };
    return { kind: 'reactions', base, target: resolveRef(reactions.attrs.id, fromJ.bare), emojis };
  }

  const retract = el.getChild('retract', NS.retract);
  if (retract?.attrs.id) return { kind: 'envelopes', envs: [{ ...base, type: 'delete', target: resolveRef(retract.attrs.id, fromJ.bare) }] };

  const bodyText = el.getChildText('body');
  const replace = el.getChild('replace', NS.correction);
  if (replace?.attrs.id && bodyText !== null) {
    return { kind: 'envelopes', envs: [{ ...base, type: 'edit', target: resolveRef(replace.attrs.id, fromJ.bare), body: parseStyling(bodyText) }] };
  }

  const receiptRequested = el.getChild('request', NS.receipts) !== undefined;
  const oobUrl = el.getChild('x', NS.oob)?.getChildText('url')?.trim();
  if (oobUrl && /^https?:\/\//i.test(oobUrl)) {
    const desc = el.getChild('x', NS.oob)?.getChildText('desc') ?? null;
    return {
      kind: 'envelopes',
      envs: [{ ...base, type: 'file', name: fileName(oobUrl, desc), size: 0, mime: 'application/octet-stream', url: oobUrl, ...(receiptRequested ? { receiptRequested } : {}) }],
    };
  }

  if (bodyText !== null && bodyText.trim() !== '') {
    return { kind: 'envelopes', envs: [{ ...base, type: 'im', body: parseStyling(bodyText), ...(receiptRequested ? { receiptRequested } : {}) }] };
  }

  const stateEl = el.getChildElements().find((c) => c.attrs.xmlns === NS.chatStates);
  const state = TYPING_STATES.find((s) => s === stateEl?.name);
  if (state) return { kind: 'envelopes', envs: [{ ...base, type: 'typing', state }] };
  return { kind: 'ignore', reason: 'message with nothing Parley carries' };
}
