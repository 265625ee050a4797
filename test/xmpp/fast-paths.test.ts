import { describe, expect, it } from 'vitest';
import { parseJid } from '../../src/connectors/xmpp/addressing.ts';
import { toFragment, toStanzas } from '../../src/connectors/xmpp/outbound.ts';
import type { Envelope } from '../../src/core/envelope.ts';
import { parseStyledText, parseStyling, renderStyling } from '../../src/connectors/xmpp/styling.ts';
import { toPlainText, type RichText } from '../../src/core/richtext.ts';

/** A deterministic pseudo-random source, so a failure reproduces. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

const ALPHABET = ['a', 'b', ' ', '*', '_', '~', '`', '>', '\n', '\r', ':', '/', 'h', 't', 'p', 's', '.', 'é', '😀', 'https://x.example/p', '```'];

describe('XMPP per-stanza shortcuts give the same answers as the full paths', () => {
  it('styling: the plain-line shortcut parses exactly like the full parser', () => {
    const next = rng(7);
    const samples = ['', ' ', 'plain words', 'benchmark message: the quick brown fox, 0123456789', 'a>b', '>quote', 'see https://x.example/a', 'ftp://x', 'x://y'];
    for (let i = 0; i < 5_000; i++) {
      let s = '';
      const n = Math.floor(next() * 12);
      for (let k = 0; k < n; k++) s += ALPHABET[Math.floor(next() * ALPHABET.length)];
      samples.push(s);
    }
    for (const s of samples) expect(parseStyling(s), JSON.stringify(s)).toEqual(parseStyledText(s));
  });

  it('styling: rendering one unmarked text node is the text itself, as the full renderer has it', () => {
    const cases: RichText[] = [
      { blocks: [{ t: 'p', c: [{ t: 'text', v: 'hello *there*' }] }] },
      { blocks: [{ t: 'p', c: [{ t: 'text', v: 'bold', marks: ['bold'] }] }] },
      { blocks: [{ t: 'p', c: [{ t: 'text', v: 'a' }, { t: 'br' }, { t: 'text', v: 'b' }] }] },
      { blocks: [{ t: 'p', c: [{ t: 'text', v: 'a' }] }, { t: 'p', c: [{ t: 'text', v: 'b' }] }] },
      { blocks: [{ t: 'pre', v: 'x' }] },
    ];
    expect(renderStyling(cases[0] as RichText)).toBe('hello *there*');
    expect(renderStyling(cases[1] as RichText)).toBe('*bold*');
    expect(renderStyling(cases[2] as RichText)).toBe(toPlainText(cases[2] as RichText));
    expect(renderStyling(cases[3] as RichText)).toBe('a\n\nb');
    expect(renderStyling(cases[4] as RichText)).toBe('```\nx\n```');
  });

  it('JIDs: a cached parse equals a fresh one, cannot be changed by a caller, and garbage stays refused', () => {
    const a = parseJid('Bob@Partner.Example/phone');
    const b = parseJid('Bob@Partner.Example/phone');
    expect(a).toEqual({ bare: 'bob@partner.example', local: 'bob', domain: 'partner.example', resource: 'phone' });
    expect(b).toBe(a);
    expect(Object.isFrozen(a)).toBe(true);
    expect(parseJid('bad jid@x')).toBeUndefined();
    expect(parseJid('bad jid@x')).toBeUndefined();
    // Many distinct JIDs: the cache stays bounded and answers stay right.
    for (let i = 0; i < 25_000; i++) expect(parseJid(`u${i}@d${i % 7}.example/r`)?.bare).toBe(`u${i}@d${i % 7}.example`);
    expect(parseJid('Bob@Partner.Example/phone')?.resource).toBe('phone');
  });

  it('outbound: a chat message written straight to text is byte for byte what its element serialises to', () => {
    const next = rng(11);
    const chars = ['a', ' ', '&', '<', '>', '"', "'", '*', '\n', 'é', '😀', ']]>', '&amp;'];
    const pick = (n: number): string => Array.from({ length: n }, () => chars[Math.floor(next() * chars.length)]).join('');
    for (let i = 0; i < 2_000; i++) {
      const env: Envelope = {
        type: 'im', id: i % 3 === 0 ? `x:bob@partner.example/${pick(4)}` : `id-${pick(6)}`, ts: 0,
        from: { platform: 'teams', id: `u${i}@parley.local`, domain: 'parley.local' },
        to: { platform: 'xmpp', id: 'bob@partner.example', domain: 'partner.example' },
        body: parseStyledText(pick(1 + Math.floor(next() * 20))),
        ...(i % 4 === 1 ? { receiptRequested: true } : {}),
      };
      const ctx = { active: i % 5 !== 2 };
      const expected = toStanzas(env, ctx).map((el) => el.toString()).join('');
      expect(toFragment(env, ctx)).toBe(expected);
    }
  });
});
