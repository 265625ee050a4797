import { describe, expect, it } from 'vitest';
import { addressKey, isLocal, type Address } from '../../src/core/address.ts';
import { envelopeSchema, parseEnvelope } from '../../src/core/envelope.ts';
import { EnvelopeError } from '../../src/core/errors.ts';
import { ENVELOPE_TYPES, alice, bob, sample } from './fixtures.ts';

/** Runs parseEnvelope expecting failure; returns the EnvelopeError. */
function reject(input: unknown): EnvelopeError {
  try {
    parseEnvelope(input);
  } catch (e) {
    expect(e).toBeInstanceOf(EnvelopeError);
    return e as EnvelopeError;
  }
  throw new Error('parseEnvelope accepted invalid input');
}

/** A JSON-ish copy of a valid envelope that tests may damage freely. */
function raw(type: Parameters<typeof sample>[0] = 'im'): Record<string, unknown> {
  return structuredClone(sample(type)) as Record<string, unknown>;
}

describe('envelopeSchema', () => {
  it('covers exactly the envelope types the fixtures know', () => {
    const types = envelopeSchema.options.map((o) => o.shape.type.value);
    expect([...types].sort()).toEqual([...ENVELOPE_TYPES].sort());
  });

  it.each(ENVELOPE_TYPES)('accepts a valid %s envelope unchanged', (type) => {
    const env = sample(type);
    expect(parseEnvelope(env)).toEqual(env);
  });

  it('accepts a valid envelope after a JSON round trip (wire form)', () => {
    for (const type of ENVELOPE_TYPES) {
      const env = sample(type);
      expect(parseEnvelope(JSON.parse(JSON.stringify(env)))).toEqual(env);
    }
  });

  it('accepts optional chatId and replyTo', () => {
    const env = { ...sample('im'), chatId: '19:abc@thread.tacv2', replyTo: 'msg-0' };
    expect(parseEnvelope(env)).toMatchObject({ chatId: '19:abc@thread.tacv2', replyTo: 'msg-0' });
  });

  it('strips unknown properties instead of passing them through', () => {
    const out = parseEnvelope({ ...raw('typing'), evil: '<script>', from: { ...alice, extra: 1 } });
    expect(out).not.toHaveProperty('evil');
    expect(out.from).not.toHaveProperty('extra');
  });

  it('lowercases address domains', () => {
    const out = parseEnvelope({ ...raw('typing'), to: { ...bob, domain: 'Partner.EXAMPLE' } });
    expect(out.to.domain).toBe('partner.example');
  });

  it('accepts an http file url and a 1-char id', () => {
    expect(parseEnvelope({ ...raw('file'), url: 'http://files.example/x', id: 'x' }).id).toBe('x');
  });
});

describe('parseEnvelope rejections', () => {
  it('is an EnvelopeError with code ENVELOPE_INVALID, status 400, not retryable', () => {
    const e = reject({});
    expect(e.code).toBe('ENVELOPE_INVALID');
    expect(e.status).toBe(400);
    expect(e.retryable).toBe(false);
    expect(e.message).toMatch(/^Envelope is malformed: /);
  });

  it.each([
    ['null', null],
    ['undefined', undefined],
    ['a string', 'hello'],
    ['a number', 42],
    ['an array', [sample('im')]],
    ['a boolean', true],
  ])('rejects %s at the root', (_label, input) => {
    const e = reject(input);
    expect(e.issues).toHaveLength(1);
    expect(e.issues[0]).toMatch(/^\(root\): /);
    expect(e.message).toContain('(root)');
  });

  it('rejects a missing type, naming the field "type"', () => {
    const input = raw('im');
    delete input.type;
    const e = reject(input);
    expect(e.issues.some((i) => i.startsWith('type: '))).toBe(true);
    expect(e.message).toContain('type:');
  });

  it('rejects an unknown type, naming the field "type"', () => {
    const e = reject({ ...raw('im'), type: 'html' });
    expect(e.issues[0]).toMatch(/^type: /);
  });

  it('rejects a non-string type', () => {
    const e = reject({ ...raw('im'), type: 7 });
    expect(e.issues[0]).toMatch(/^type: /);
  });

  it.each([
    ['underscore', 'bad_domain.example'],
    ['leading dash', '-x.example'],
    ['trailing dot', 'partner.example.'],
    ['space', 'partner example'],
    ['empty', ''],
    ['scheme', 'https://partner.example'],
    ['label > 63 chars', `${'a'.repeat(64)}.example`],
    ['too long', `${'a'.repeat(60)}.`.repeat(5) + 'example'],
  ])('rejects a bad address domain (%s), naming from.domain', (_label, domain) => {
    const e = reject({ ...raw('typing'), from: { ...alice, domain } });
    expect(e.issues.some((i) => i.startsWith('from.domain: '))).toBe(true);
    expect(e.message).toContain('from.domain');
  });

  it('rejects identifiers with a lone surrogate, naming the field: as UTF-8 in a key it would read as U+FFFD', () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ ...raw('im'), id: 'm\uD800' }, 'id'],
      [{ ...raw('reaction'), target: 'm\uDFFF' }, 'target'],
      [{ ...raw('im'), replyTo: '\uDC00' }, 'replyTo'],
      [{ ...raw('im'), from: { ...alice, id: 'alice\uD800' } }, 'from.id'],
      [{ ...raw('im'), to: { ...bob, id: '\uDBFFbob@partner.example' } }, 'to.id'],
    ];
    for (const [input, field] of cases) {
      const e = reject(input);
      expect(e.issues).toEqual([`${field}: contains a lone surrogate (not well-formed Unicode)`]);
    }
    expect(parseEnvelope({ ...raw('im'), id: 'm-\uD83D\uDE00' }).id).toBe('m-\uD83D\uDE00');
  });

  it('rejects a bad to.domain naming to.domain', () => {
    const e = reject({ ...raw('typing'), to: { ...bob, domain: 'no_way' } });
    expect(e.issues).toEqual([expect.stringMatching(/^to\.domain: not a valid domain name/)]);
  });

  it('rejects an unknown platform naming from.platform', () => {
    const e = reject({ ...raw('typing'), from: { ...alice, platform: 'slack' } });
    expect(e.issues[0]).toMatch(/^from\.platform: /);
  });

  it('rejects a missing address naming it', () => {
    const input = raw('typing');
    delete input.to;
    expect(reject(input).issues[0]).toMatch(/^to: /);
  });

  it.each([
    ['id', { id: 'x'.repeat(257) }, 'id'],
    ['id (empty)', { id: '' }, 'id'],
    ['chatId', { chatId: 'c'.repeat(257) }, 'chatId'],
    ['address id', { from: { ...alice, id: 'a'.repeat(513) } }, 'from.id'],
    ['address name', { to: { ...bob, name: 'n'.repeat(257) } }, 'to.name'],
    ['tenant', { from: { ...alice, tenant: 't'.repeat(129) } }, 'from.tenant'],
  ])('rejects a bad-length %s', (_label, patch, path) => {
    const e = reject({ ...raw('typing'), ...patch });
    expect(e.issues[0]?.startsWith(`${path}: `)).toBe(true);
    expect(e.message).toContain(path);
  });

  it.each([
    ['status', 'presence', { status: 's'.repeat(1025) }],
    ['emoji', 'reaction', { emoji: 'e'.repeat(65) }],
    ['emoji', 'reaction', { emoji: '' }],
    ['name', 'file', { name: 'n'.repeat(513) }],
    ['mime', 'file', { mime: 'm'.repeat(256) }],
    ['url', 'file', { url: `https://x.example/${'p'.repeat(4100)}` }],
    ['message', 'contact-request', { message: 'm'.repeat(1025) }],
    ['profile.displayName', 'profile-response', { profile: { displayName: 'd'.repeat(257) } }],
    ['profile.phone', 'profile-response', { profile: { phone: '1'.repeat(65) } }],
    ['room.name', 'invite', { room: { id: 'r', name: 'n'.repeat(257) } }],
    ['room.id', 'invite', { room: { id: '' } }],
    ['message', 'error', { message: 'm'.repeat(2049) }],
  ] as const)('rejects an oversized or invalid %s (%s)', (path, type, patch) => {
    const e = reject({ ...raw(type), ...patch });
    expect(e.issues.some((i) => i.startsWith(`${path}: `))).toBe(true);
  });

  it.each([
    'javascript:alert(1)',
    'ftp://files.example/x',
    'file:///etc/passwd',
    'data:text/html;base64,PHNjcmlwdD4=',
    'not a url',
    '',
  ])('rejects file url %j naming url', (url) => {
    const e = reject({ ...raw('file'), url });
    expect(e.issues).toEqual([expect.stringMatching(/^url: /)]);
  });

  it.each([
    ['ts as string', { ts: '1700000000000' }, 'ts'],
    ['negative ts', { ts: -1 }, 'ts'],
    ['fractional ts', { ts: 1.5 }, 'ts'],
    ['NaN ts', { ts: Number.NaN }, 'ts'],
    ['numeric id', { id: 12 }, 'id'],
    ['from as string', { from: 'alice@parley.local' }, 'from'],
    ['body as string', { body: 'hello' }, 'body'],
    ['blocks as object', { body: { blocks: {} } }, 'body.blocks'],
  ])('rejects wrong types (%s)', (_label, patch, path) => {
    const e = reject({ ...raw('im'), ...patch });
    expect(e.issues.some((i) => i.startsWith(`${path}: `))).toBe(true);
  });

  it.each([
    ['show', 'presence', { show: 'busy' }],
    ['state', 'typing', { state: 'writing' }],
    ['action', 'reaction', { action: 'toggle' }],
    ['decision', 'contact-response', { decision: 'maybe' }],
    ['status', 'receipt', { status: 'seen' }],
    ['code', 'error', { code: 'NOPE' }],
    ['retryable', 'error', { retryable: 'no' }],
    ['size', 'file', { size: -1 }],
  ] as const)('rejects a bad enum or number: %s (%s)', (path, type, patch) => {
    const e = reject({ ...raw(type), ...patch });
    expect(e.issues.some((i) => i.startsWith(`${path}: `))).toBe(true);
  });

  it('rejects an unsafe link deep in the body, naming the full path', () => {
    const input = {
      ...raw('im'),
      body: { blocks: [{ t: 'p', c: [{ t: 'text', v: 'a' }, { t: 'link', href: 'javascript:alert(1)', v: 'x' }] }] },
    };
    const e = reject(input);
    expect(e.issues).toEqual(['body.blocks.0.c.1.href: link scheme not allowed']);
  });

  it('lists every problem, each with its own path', () => {
    const input = { ...raw('reaction'), ts: 'now', emoji: '', to: { ...bob, domain: 'bad_domain' } };
    const e = reject(input);
    const paths = e.issues.map((i) => i.slice(0, i.indexOf(':')));
    expect(paths.sort()).toEqual(['emoji', 'to.domain', 'ts']);
    for (const p of paths) expect(e.message).toContain(`${p}:`);
  });

  it('ignores deeply nested junk in unknown properties without recursing into it', () => {
    let junk: unknown = 'x';
    for (let i = 0; i < 100_000; i++) junk = [junk];
    const out = parseEnvelope({ ...raw('typing'), junk });
    expect(out).not.toHaveProperty('junk');
  });

  it('rejects deeply nested junk in the body at the first level', () => {
    let junk: unknown = 'x';
    for (let i = 0; i < 100_000; i++) junk = [junk];
    const e = reject({ ...raw('im'), body: { blocks: junk } });
    expect(e.issues).toEqual([expect.stringMatching(/^body\.blocks\.0: /)]);
  });

  it('rejects an oversized block list with one issue, not one per element', () => {
    const blocks = Array.from({ length: 50_000 }, () => ({ t: 'zz' }));
    const e = reject({ ...raw('im'), body: { blocks } });
    expect(e.issues).toEqual([expect.stringMatching(/^body\.blocks: Too big/)]);
  });

  // BUG: within the size limits, every bad node yields its own issue and the
  // message joins them all: ~1 MB of junk gives a ~10 MB error message.
  it('keeps the error bounded for many invalid nodes (no amplification)', () => {
    const blocks = Array.from({ length: 1000 }, () => ({ t: 'p', c: Array.from({ length: 100 }, () => ({ t: 'x' })) }));
    const input = { ...raw('im'), body: { blocks } };
    const inputSize = JSON.stringify(input).length;
    const e = reject(input);
    expect(e.issues.length).toBeLessThanOrEqual(100);
    expect(e.message.length).toBeLessThan(Math.min(inputSize, 16 * 1024));
  });
});

describe('address helpers', () => {
  it('addressKey is platform:id and ignores domain, tenant and name', () => {
    expect(addressKey(alice)).toBe('teams:alice-aad-id');
    const named: Address = { ...alice, name: 'A', tenant: 't', domain: 'other.example' };
    expect(addressKey(named)).toBe(addressKey(alice));
    expect(addressKey({ platform: 'xmpp', id: alice.id })).not.toBe(addressKey(alice));
  });

  it('isLocal matches the exact domain only', () => {
    const local = new Set(['parley.local']);
    expect(isLocal(alice, local)).toBe(true);
    expect(isLocal(bob, local)).toBe(false);
    expect(isLocal({ domain: 'sub.parley.local' }, local)).toBe(false);
  });
});
