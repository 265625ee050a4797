import { describe, expect, it } from 'vitest';
import { isCanonicalEnvelope } from '../../src/core/envelope-fast.ts';
import { envelopeSchema, parseEnvelope } from '../../src/core/envelope.ts';
import { EnvelopeError } from '../../src/core/errors.ts';
import { ADDRESS_ID_MAX, DOMAIN_MAX, ID_MAX, MAX_BLOCKS, MAX_INLINES, MAX_TEXT, NAME_MAX, PRESENCE_STATUS_MAX, TENANT_MAX } from '../../src/core/limits.ts';

/** A deterministic pseudo-random source, so a failure reproduces. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

type Node = Record<string, unknown> | unknown[];
const clone = <T>(v: T): T => structuredClone(v);

function canonical(next: () => number): Record<string, unknown> {
  const pick = <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)] as T;
  const address = (): Record<string, unknown> => {
    const a: Record<string, unknown> = { platform: pick(['teams', 'xmpp', 'sip', 'loopback']), id: pick(['alice@parley.local', 'u1', 'bob@partner.example']), domain: pick(['parley.local', 'partner.example', 'a-b.c0.example']) };
    if (next() < 0.2) a['tenant'] = 't1';
    if (next() < 0.2) a['name'] = pick(['', 'Alice']);
    return a;
  };
  const inline = (): Record<string, unknown> => {
    if (next() < 0.2) return { t: 'br' };
    const n: Record<string, unknown> = { t: 'text', v: pick(['', 'hello', 'é😀 *x*']) };
    if (next() < 0.3) n['marks'] = pick([[], ['bold'], ['italic', 'code'], ['bold', 'italic', 'strike', 'code']]);
    return n;
  };
  const env: Record<string, unknown> = { type: pick(['im', 'typing', 'receipt', 'presence']), id: pick(['m1', 'x'.repeat(ID_MAX)]), ts: pick([0, 1_795_680_680_190]), from: address(), to: address() };
  if (next() < 0.2) env['chatId'] = 'g1';
  if (next() < 0.2) env['replyTo'] = 'm0';
  switch (env['type']) {
    case 'im':
      env['body'] = { blocks: Array.from({ length: Math.floor(next() * 3) }, () => ({ t: 'p', c: Array.from({ length: Math.floor(next() * 4) }, inline) })) };
      if (next() < 0.3) env['receiptRequested'] = next() < 0.5;
      break;
    case 'typing':
      env['state'] = pick(['composing', 'paused', 'active', 'inactive', 'gone']);
      break;
    case 'receipt':
      env['target'] = 'm0';
      env['status'] = pick(['delivered', 'read']);
      break;
    default:
      env['show'] = pick(['available', 'away', 'xa', 'dnd', 'offline']);
      if (next() < 0.4) env['status'] = pick(['', 'at lunch']);
  }
  return env;
}

/** Every object and array in the tree, with the path to it. */
function nodes(v: unknown, path = '$', out: Array<[Node, string]> = []): Array<[Node, string]> {
  if (typeof v === 'object' && v !== null) {
    out.push([v as Node, path]);
    for (const [k, c] of Object.entries(v)) nodes(c, `${path}.${k}`, out);
  }
  return out;
}

const ODD_VALUES: unknown[] = [
  undefined, null, 0, -1, 1.5, -0, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53, true, '', 'x', 'X', [], {}, Object.create(null), new Map(), new Date(0),
  'x'.repeat(ID_MAX + 1), 'x'.repeat(ADDRESS_ID_MAX + 1), 'x'.repeat(TENANT_MAX + 1), 'x'.repeat(NAME_MAX + 1), 'x'.repeat(PRESENCE_STATUS_MAX + 1),
  'x'.repeat(MAX_TEXT + 1), 'm\uD800', '\uDC00', 'ok \uD83D\uDE00', `${'a'.repeat(DOMAIN_MAX - 4)}.com`, 'Partner.Example', '-x.example', 'a..b', 'x_y.example', 'teamz', 'Bold', 'composing ', 'link', 'mention', 'quote',
  { t: 'link', href: 'https://x.example', v: 'x' }, { t: 'link', href: 'javascript:alert(1)', v: 'x' }, { t: 'mention', id: 'u', v: 'U' }, { t: 'pre', v: 'x' }, { t: 'quote', c: [] },
  ['bold', 'bold'], ['bold', 'italic', 'strike', 'code', 'bold'], ['underline'], 'im', 'typing', 'receipt', 'presence', 'reaction', 'file', 'delivered', 'away',
];

/** The longest string each bounded field takes, by where it sits. */
function limitOf(path: string, key: string): number | undefined {
  const inAddress = /\.(from|to)$/.test(path);
  if (inAddress) return ({ id: ADDRESS_ID_MAX, domain: DOMAIN_MAX, tenant: TENANT_MAX, name: NAME_MAX } as Record<string, number>)[key];
  if (path === '$') return ({ id: ID_MAX, chatId: ID_MAX, replyTo: ID_MAX, target: ID_MAX, status: PRESENCE_STATUS_MAX } as Record<string, number>)[key];
  return key === 'v' ? MAX_TEXT : undefined;
}

const OTHER_TYPES_KEYS: Array<[string, unknown]> = [
  ['state', 'composing'], ['show', 'away'], ['status', 'read'], ['status', 'at lunch'], ['target', 'm0'], ['body', { blocks: [] }],
  ['receiptRequested', true], ['emoji', '👍'], ['action', 'add'], ['code', 'BLOCKED'], ['message', 'x'], ['name', 'f.txt'],
];

function mutate(env: Record<string, unknown>, next: () => number): void {
  const list = nodes(env);
  const [node, path] = list[Math.floor(next() * list.length)] as [Node, string];
  const keys = Object.keys(node);
  const key = keys[Math.floor(next() * keys.length)];
  const r = next();
  if (path.endsWith('.marks') && Array.isArray(node) && node.length > 0 && r < 0.5) {
    node[Math.floor(next() * node.length)] = ['Bold', 'underline', 'bold ', '', 'italic'][Math.floor(next() * 5)];
    return;
  }
  if (path === '$' && r < 0.1) {
    // A key another envelope type has, with a value good there.
    const [k, v] = OTHER_TYPES_KEYS[Math.floor(next() * OTHER_TYPES_KEYS.length)] as [string, unknown];
    env[k] = clone(v);
    return;
  }
  if (r < 0.15) (node as Record<string, unknown>)[`extra${Math.floor(next() * 3)}`] = 1;
  else if (r < 0.25 && key !== undefined) delete (node as Record<string, unknown>)[key];
  else if (r < 0.35) Object.setPrototypeOf(node, next() < 0.5 ? null : Array.prototype);
  else if (r < 0.6 && key !== undefined && limitOf(path, key) !== undefined) {
    // At the bound or one past it; a domain stays a domain name so that only its length decides.
    const n = (limitOf(path, key) as number) + (next() < 0.5 ? 0 : 1);
    (node as Record<string, unknown>)[key] = key === 'domain' ? `${'a.'.repeat(Math.floor(n / 2))}${n % 2 ? 'a' : ''}`.replace(/\.$/, 'a') : 'x'.repeat(n);
  } else if (key !== undefined) (node as Record<string, unknown>)[key] = clone(ODD_VALUES[Math.floor(next() * ODD_VALUES.length)]);
}

/**
 * What an envelope carries, as every reader of it sees it: prototypes and keys
 * set to undefined count; named properties on an array, which no parser makes
 * and every reader (msgpack, the connectors) passes over, do not.
 */
function asData(v: unknown): unknown {
  if (Array.isArray(v)) return { proto: Object.getPrototypeOf(v) === Array.prototype ? 'Array' : 'other', items: Array.from(v, asData) };
  if (typeof v !== 'object' || v === null) return v;
  const out: Record<string, unknown> = { '(proto)': Object.getPrototypeOf(v) === Object.prototype ? 'Object' : 'other' };
  for (const [k, c] of Object.entries(v)) out[k] = asData(c);
  return out;
}

describe('isCanonicalEnvelope: the fast check at the door agrees with the envelope schema', () => {
  it('never accepts what zod rejects or would change, over 30,000 random and mutated envelopes', () => {
    const next = rng(20261126);
    let fastMutated = 0;
    let zodOnly = 0;
    let rejected = 0;
    for (let i = 0; i < 30_000; i++) {
      const env = canonical(next);
      const mutations = i % 4 === 0 ? 0 : 1 + Math.floor(next() * 3);
      for (let m = 0; m < mutations; m++) mutate(env, next);
      const parsed = envelopeSchema.safeParse(env);
      const show = (): string => JSON.stringify(env).slice(0, 2_000);
      if (isCanonicalEnvelope(env)) {
        if (mutations > 0) fastMutated++;
        if (!parsed.success) expect.fail(`taken at the door, refused by zod: ${show()}`);
        expect(asData(parsed.data)).toStrictEqual(asData(env));
      } else if (parsed.success) zodOnly++;
      else rejected++;
      if (mutations === 0 && !isCanonicalEnvelope(env)) expect.fail(`a canonical envelope left to zod: ${show()}`);
    }
    // The mutations reach both sides of the line: some survive the fast check, many fail zod, some only zod takes.
    expect(fastMutated).toBeGreaterThan(1_000);
    expect(rejected).toBeGreaterThan(5_000);
    expect(zodOnly).toBeGreaterThan(1_000);
  });

  it('leaves to zod what zod would change or words an error for', () => {
    const base = { type: 'im', id: 'm1', ts: 1, from: { platform: 'teams', id: 'a', domain: 'parley.local' }, to: { platform: 'xmpp', id: 'b@partner.example', domain: 'partner.example' }, body: { blocks: [] } };
    expect(isCanonicalEnvelope(base)).toBe(true);
    const upper = { ...base, to: { ...base.to, domain: 'Partner.Example' } };
    expect(isCanonicalEnvelope(upper)).toBe(false);
    expect(parseEnvelope(upper).to.domain).toBe('partner.example');
    const unknownKey = { ...base, colour: 'red' };
    expect(isCanonicalEnvelope(unknownKey)).toBe(false);
    expect(parseEnvelope(unknownKey)).not.toHaveProperty('colour');
    expect(isCanonicalEnvelope({ ...base, chatId: undefined })).toBe(false);
    const link = { ...base, body: { blocks: [{ t: 'p', c: [{ t: 'link', href: 'javascript:x', v: 'x' }] }] } };
    expect(isCanonicalEnvelope(link)).toBe(false);
    expect(() => parseEnvelope(link)).toThrow(EnvelopeError);
    expect(() => parseEnvelope({ ...base, id: 'x'.repeat(ID_MAX + 1) })).toThrow(/id/);
  });

  it('leaves an identifier with a lone surrogate to zod, which refuses it; a paired one (an emoji) is fine', () => {
    const base = { type: 'receipt', id: 'r1', ts: 1, target: 'm1', status: 'delivered', from: { platform: 'teams', id: 'a', domain: 'parley.local' }, to: { platform: 'xmpp', id: 'b@partner.example', domain: 'partner.example' } };
    expect(isCanonicalEnvelope(base)).toBe(true);
    const lone = [{ ...base, id: 'r\uD800' }, { ...base, target: '\uDC00m1' }, { ...base, chatId: 'c\uDBFF' }, { ...base, from: { ...base.from, id: 'a\uD83D' } }, { ...base, to: { ...base.to, id: '\uDE00b' } }];
    for (const env of lone) {
      expect(isCanonicalEnvelope(env)).toBe(false);
      expect(() => parseEnvelope(env)).toThrow(/lone surrogate/);
    }
    const paired = { ...base, id: 'r\uD83D\uDE00', from: { ...base.from, id: 'a\uD83D\uDE00' } };
    expect(isCanonicalEnvelope(paired)).toBe(true);
  });

  it('takes lists up to their bounds and leaves longer ones to zod, which refuses them', () => {
    const text = { t: 'text', v: 'x' };
    const im = (blocks: unknown[]): Record<string, unknown> => ({ type: 'im', id: 'm1', ts: 1, from: { platform: 'teams', id: 'a', domain: 'parley.local' }, to: { platform: 'xmpp', id: 'b', domain: 'partner.example' }, body: { blocks } });
    for (const extra of [0, 1]) {
      const manyBlocks = im(Array.from({ length: MAX_BLOCKS + extra }, () => ({ t: 'p', c: [text] })));
      const manyInlines = im([{ t: 'p', c: Array.from({ length: MAX_INLINES + extra }, () => text) }]);
      for (const env of [manyBlocks, manyInlines]) {
        expect(isCanonicalEnvelope(env)).toBe(extra === 0);
        expect(envelopeSchema.safeParse(env).success).toBe(extra === 0);
      }
    }
  });

  it('parseEnvelope hands back a canonical envelope itself, and a copy of anything it had to clean', () => {
    const env = { type: 'typing', id: 't1', ts: 5, from: { platform: 'teams', id: 'a', domain: 'parley.local' }, to: { platform: 'xmpp', id: 'b', domain: 'partner.example' }, state: 'composing' };
    expect(parseEnvelope(env)).toBe(env);
    const dirty = { ...env, x: 1 };
    const out = parseEnvelope(dirty);
    expect(out).not.toBe(dirty);
    expect(out).toStrictEqual(env);
  });
});
