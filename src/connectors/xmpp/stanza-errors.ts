import xml, { type Element } from '@xmpp/xml';
import type { ErrorCode } from '../../core/errors.ts';
import { NS } from './ns.ts';

/** RFC 6120 section 8.3.3 conditions Parley sends or understands. */
export type StanzaCondition =
  | 'bad-request'
  | 'conflict'
  | 'jid-malformed'
  | 'registration-required'
  | 'feature-not-implemented'
  | 'forbidden'
  | 'internal-server-error'
  | 'item-not-found'
  | 'not-acceptable'
  | 'not-allowed'
  | 'policy-violation'
  | 'recipient-unavailable'
  | 'remote-server-not-found'
  | 'remote-server-timeout'
  | 'resource-constraint'
  | 'service-unavailable'
  | 'undefined-condition';

export type ErrorType = 'cancel' | 'modify' | 'wait' | 'auth';

const FROM_CODE: Partial<Record<ErrorCode, [StanzaCondition, ErrorType]>> = {
  POLICY_DOMAIN_BLOCKED: ['policy-violation', 'cancel'],
  POLICY_PLATFORM_BLOCKED: ['policy-violation', 'cancel'],
  POLICY_USER_DISABLED: ['forbidden', 'auth'],
  ENVELOPE_INVALID: ['bad-request', 'modify'],
  BODY_TOO_LARGE: ['not-acceptable', 'modify'],
  RECIPIENT_UNKNOWN: ['item-not-found', 'cancel'],
  RECIPIENT_UNAVAILABLE: ['recipient-unavailable', 'wait'],
  UNDELIVERABLE: ['recipient-unavailable', 'wait'],
  DELIVERY_TIMEOUT: ['remote-server-timeout', 'wait'],
  DELIVERY_UNAVAILABLE: ['service-unavailable', 'wait'],
  DELIVERY_REJECTED: ['not-allowed', 'cancel'],
  RATE_LIMITED: ['resource-constraint', 'wait'],
  OVERLOADED: ['resource-constraint', 'wait'],
  SHUTTING_DOWN: ['service-unavailable', 'wait'],
  NO_CONNECTOR: ['service-unavailable', 'cancel'],
};

export function conditionFor(code: ErrorCode): [StanzaCondition, ErrorType] {
  return FROM_CODE[code] ?? ['internal-server-error', 'cancel'];
}

const TO_CODE: Partial<Record<string, ErrorCode>> = {
  'policy-violation': 'DELIVERY_REJECTED',
  'not-allowed': 'DELIVERY_REJECTED',
  forbidden: 'DELIVERY_REJECTED',
  'not-authorized': 'DELIVERY_REJECTED',
  'item-not-found': 'RECIPIENT_UNKNOWN',
  'recipient-unavailable': 'RECIPIENT_UNAVAILABLE',
  'service-unavailable': 'RECIPIENT_UNAVAILABLE',
  'remote-server-not-found': 'DELIVERY_UNAVAILABLE',
  'remote-server-timeout': 'DELIVERY_TIMEOUT',
  'resource-constraint': 'RATE_LIMITED',
  'bad-request': 'ENVELOPE_INVALID',
  'not-acceptable': 'BODY_TOO_LARGE',
};

/** The <error/> child of an error stanza, as Parley's code and a human text. */
export function readStanzaError(stanza: Element): { code: ErrorCode; condition: string; text: string } {
  const err = stanza.getChild('error');
  const cond = err?.getChildElements().find((c) => c.attrs.xmlns === NS.stanzas && c.name !== 'text');
  const condition = cond?.name ?? 'undefined-condition';
  const text = err?.getChildText('text', NS.stanzas) ?? '';
  return { code: TO_CODE[condition] ?? 'DELIVERY_REJECTED', condition, text: text.slice(0, 1024) };
}

export function errorChild(condition: StanzaCondition, type: ErrorType, text?: string): Element {
  return xml(
    'error',
    { type },
    xml(condition, { xmlns: NS.stanzas }),
    text ? xml('text', { xmlns: NS.stanzas, 'xml:lang': 'en' }, text.slice(0, 1024)) : null,
  );
}

/** The error reply to a stanza (same name and id, from and to swapped). */
export function errorReply(stanza: Element, condition: StanzaCondition, type: ErrorType, text?: string): Element {
  const attrs: Record<string, string> = { type: 'error', from: stanza.attrs.to ?? '', to: stanza.attrs.from ?? '' };
  if (stanza.attrs.id) attrs.id = stanza.attrs.id;
  return xml(stanza.name, attrs, errorChild(condition, type, text));
}
