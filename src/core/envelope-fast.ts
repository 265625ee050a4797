import type { Envelope } from './envelope.ts';
import {
  ADDRESS_ID_MAX,
  DOMAIN_MAX,
  DOMAIN_RE,
  ID_MAX,
  isWellFormed,
  MARKS,
  MAX_BLOCKS,
  MAX_INLINES,
  MAX_TEXT,
  NAME_MAX,
  PLATFORMS,
  PRESENCE_SHOWS,
  PRESENCE_STATUS_MAX,
  RECEIPT_STATUSES,
  TENANT_MAX,
  TYPING_STATES,
} from './limits.ts';

/**
 * The check every message pays at the hub's door, without zod's cost: zod
 * builds a validated copy of the envelope, node by node (~5 µs and ~4 KB of
 * garbage per chat message), and almost every envelope is already in the form
 * zod would return.
 *
 * `isCanonicalEnvelope` is true only for an im, typing, receipt or presence
 * envelope that zod accepts and would return unchanged: plain objects, no
 * unknown keys, no optional key set to undefined, paragraphs of text and line
 * breaks only. Anything else (links, mentions, other blocks or types, a
 * domain in capitals, any doubt) is false and goes through zod, which also
 * words the errors. So it may turn down a good envelope, never accept a bad
 * one: test/unit/envelope-fast.test.ts compares it with zod on random inputs.
 *
 * It takes plain data, as JSON, msgpack, XML translation and object literals
 * make it: own enumerable data properties. A getter, a non-enumerable or an
 * inherited property (which zod would read and this does not look at) or a
 * named property on an array is not such data; no connector makes them.
 */
export function isCanonicalEnvelope(input: unknown): input is Envelope {
  if (!isPlain(input)) return false;
  const type = input['type'];
  const extra = type === 'im' ? imKey : type === 'typing' ? typingKey : type === 'receipt' ? receiptKey : type === 'presence' ? presenceKey : undefined;
  if (!extra) return false;
  let base = 0;
  let own = 0;
  for (const k in input) {
    const v = input[k];
    switch (k) {
      case 'type':
        break;
      case 'id':
        if (!isId(v, ID_MAX)) return false;
        base++;
        break;
      case 'ts':
        if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) return false;
        base++;
        break;
      case 'from':
      case 'to':
        if (!isAddress(v)) return false;
        base++;
        break;
      case 'chatId':
      case 'replyTo':
        if (!isId(v, ID_MAX)) return false;
        break;
      default: {
        const r = extra(k, v);
        if (r === NO) return false;
        if (r === REQUIRED) own++;
      }
    }
  }
  return base === 4 && own === REQUIRED_COUNT[type as keyof typeof REQUIRED_COUNT];
}

const NO = 0;
const OPTIONAL = 1;
const REQUIRED = 2;
type KeyCheck = (key: string, value: unknown) => typeof NO | typeof OPTIONAL | typeof REQUIRED;
const REQUIRED_COUNT = { im: 1, typing: 1, receipt: 2, presence: 1 } as const;

const imKey: KeyCheck = (k, v) => {
  if (k === 'body') return isRichText(v) ? REQUIRED : NO;
  if (k === 'receiptRequested') return typeof v === 'boolean' ? OPTIONAL : NO;
  return NO;
};
const typingKey: KeyCheck = (k, v) => (k === 'state' && TYPING.has(v) ? REQUIRED : NO);
const receiptKey: KeyCheck = (k, v) => {
  if (k === 'target') return isId(v, ID_MAX) ? REQUIRED : NO;
  if (k === 'status') return RECEIPT.has(v) ? REQUIRED : NO;
  return NO;
};
const presenceKey: KeyCheck = (k, v) => {
  if (k === 'show') return SHOWS.has(v) ? REQUIRED : NO;
  if (k === 'status') return isString(v, 0, PRESENCE_STATUS_MAX) ? OPTIONAL : NO;
  return NO;
};

const PLATFORM = new Set<unknown>(PLATFORMS);
const TYPING = new Set<unknown>(TYPING_STATES);
const RECEIPT = new Set<unknown>(RECEIPT_STATUSES);
const SHOWS = new Set<unknown>(PRESENCE_SHOWS);
const MARK = new Set<unknown>(MARKS);

function isPlain(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && Object.getPrototypeOf(v) === Object.prototype;
}

function isList(v: unknown): v is unknown[] {
  return Array.isArray(v) && Object.getPrototypeOf(v) === Array.prototype;
}

function isString(v: unknown, min: number, max: number): v is string {
  return typeof v === 'string' && v.length >= min && v.length <= max;
}

/** An identifier: it goes into keys, so a lone surrogate is refused (see isWellFormed). */
function isId(v: unknown, max: number): v is string {
  return isString(v, 1, max) && isWellFormed(v);
}

function isAddress(a: unknown): boolean {
  if (!isPlain(a)) return false;
  let required = 0;
  for (const k in a) {
    const v = a[k];
    switch (k) {
      case 'platform':
        if (!PLATFORM.has(v)) return false;
        break;
      case 'id':
        if (!isId(v, ADDRESS_ID_MAX)) return false;
        break;
      case 'domain':
        if (!isDomain(v)) return false;
        break;
      case 'tenant':
        if (!isString(v, 1, TENANT_MAX)) return false;
        continue;
      case 'name':
        if (!isString(v, 0, NAME_MAX)) return false;
        continue;
      default:
        return false;
    }
    required++;
  }
  return required === 3;
}

/** Domains recently found valid: a handful of partners send nearly all traffic. */
const knownDomains = new Set<string>();
const KNOWN_DOMAINS_MAX = 1024;

function isDomain(v: unknown): boolean {
  if (typeof v !== 'string') return false;
  if (knownDomains.has(v)) return true;
  // Lower case already: the schema lower-cases before it tests, and an upper-case domain would come back changed.
  if (v.length < 1 || v.length > DOMAIN_MAX || !DOMAIN_RE.test(v)) return false;
  if (knownDomains.size >= KNOWN_DOMAINS_MAX) knownDomains.clear();
  knownDomains.add(v);
  return true;
}

function isRichText(body: unknown): boolean {
  if (!isPlain(body)) return false;
  for (const k in body) if (k !== 'blocks') return false;
  const blocks = body['blocks'];
  if (!isList(blocks) || blocks.length > MAX_BLOCKS) return false;
  for (let i = 0; i < blocks.length; i++) if (!isParagraph(blocks[i])) return false;
  return true;
}

function isParagraph(block: unknown): boolean {
  if (!isPlain(block) || block['t'] !== 'p') return false;
  for (const k in block) if (k !== 't' && k !== 'c') return false;
  const c = block['c'];
  if (!isList(c) || c.length > MAX_INLINES) return false;
  for (let i = 0; i < c.length; i++) if (!isTextOrBreak(c[i])) return false;
  return true;
}

function isTextOrBreak(node: unknown): boolean {
  if (!isPlain(node)) return false;
  const t = node['t'];
  if (t === 'br') {
    for (const k in node) if (k !== 't') return false;
    return true;
  }
  if (t !== 'text') return false;
  let text = false;
  for (const k in node) {
    const v = node[k];
    if (k === 'v') {
      if (!isString(v, 0, MAX_TEXT)) return false;
      text = true;
    } else if (k === 'marks') {
      if (!isList(v) || v.length > MARKS.length) return false;
      for (let i = 0; i < v.length; i++) if (!MARK.has(v[i])) return false;
    } else if (k !== 't') return false;
  }
  return text;
}
