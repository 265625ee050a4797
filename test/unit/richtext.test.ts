import { describe, expect, it } from 'vitest';
import {
  blockSchema,
  fromPlainText,
  inlineSchema,
  richTextSchema,
  toPlainText,
  type Block,
  type Inline,
  type RichText,
} from '../../src/core/richtext.ts';

const p = (...c: Inline[]): Block => ({ t: 'p', c });

describe('fromPlainText / toPlainText', () => {
  it.each([
    '',
    'hello',
    'hello world',
    'line one\nline two',
    'para one\n\npara two',
    'a\n\n\nb',
    'a\n\n\n\nb',
    'trailing newline\n',
    '\nleading newline',
    '\n',
    '\n\n',
    'emoji 👍🏽 and ünïcödé',
    '  indented\n\tand tabbed  ',
    '<b>not markup</b> & entities &amp;',
    'three\nlines\nhere\n\nand\ntwo',
  ])('round-trips %j', (text) => {
    const rt = fromPlainText(text);
    expect(richTextSchema.safeParse(rt).success).toBe(true);
    expect(toPlainText(rt)).toBe(text);
  });

  it('normalises CRLF to LF', () => {
    expect(toPlainText(fromPlainText('a\r\nb\r\n\r\nc'))).toBe('a\nb\n\nc');
  });

  it('makes one paragraph per blank-line-separated chunk, with br between lines', () => {
    expect(fromPlainText('a\nb\n\nc')).toEqual({
      blocks: [
        { t: 'p', c: [{ t: 'text', v: 'a' }, { t: 'br' }, { t: 'text', v: 'b' }] },
        { t: 'p', c: [{ t: 'text', v: 'c' }] },
      ],
    });
  });

  it('never produces empty text nodes', () => {
    const rt = fromPlainText('\n\nx\n\n\n');
    for (const b of rt.blocks) {
      if (b.t === 'p') for (const n of b.c) if (n.t === 'text') expect(n.v).not.toBe('');
    }
  });

  it('keeps markup-looking text as plain text (no interpretation)', () => {
    const rt = fromPlainText('<a href="javascript:x">y</a>');
    expect(rt.blocks).toEqual([{ t: 'p', c: [{ t: 'text', v: '<a href="javascript:x">y</a>' }] }]);
  });

  // BUG: fromPlainText output must always be a valid RichText, but plain text
  // beyond the schema's per-node limits yields a body richTextSchema rejects,
  // so an ordinary long XMPP/SIP message would be refused as ENVELOPE_INVALID.
  it.each([
    ['a single 70,000-character line', 'x'.repeat(70_000)],
    ['3,000 short lines in one paragraph (~17 KB)', Array.from({ length: 3000 }, (_, i) => `l${i}`).join('\n')],
    ['1,100 short paragraphs (~7 KB)', Array.from({ length: 1100 }, (_, i) => `p${i}`).join('\n\n')],
  ])('produces schema-valid rich text for %s', (_label, text) => {
    const rt = fromPlainText(text);
    const r = richTextSchema.safeParse(rt);
    expect(r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`)).toEqual([]);
    expect(toPlainText(rt)).toBe(text);
  });
});

describe('toPlainText formatting', () => {
  it('renders marks as their text', () => {
    expect(toPlainText({ blocks: [p({ t: 'text', v: 'bold', marks: ['bold'] }, { t: 'text', v: ' code', marks: ['code'] })] })).toBe(
      'bold code',
    );
  });

  it('renders a link with distinct text as "text (href)"', () => {
    expect(toPlainText({ blocks: [p({ t: 'link', href: 'https://x.example', v: 'site' })] })).toBe('site (https://x.example)');
  });

  it('renders a link whose text is the href, or empty, as the bare href', () => {
    expect(toPlainText({ blocks: [p({ t: 'link', href: 'https://x.example', v: 'https://x.example' })] })).toBe('https://x.example');
    expect(toPlainText({ blocks: [p({ t: 'link', href: 'mailto:a@b.example', v: '' })] })).toBe('mailto:a@b.example');
  });

  it('renders mentions with exactly one leading @', () => {
    expect(toPlainText({ blocks: [p({ t: 'mention', id: 'u1', v: 'Alice' }, { t: 'text', v: ' ' }, { t: 'mention', id: 'u2', v: '@Bob' })] })).toBe(
      '@Alice @Bob',
    );
  });

  it('prefixes every quoted line with "> "', () => {
    expect(toPlainText({ blocks: [{ t: 'quote', c: [{ t: 'text', v: 'one' }, { t: 'br' }, { t: 'text', v: 'two' }], author: 'A' }] })).toBe(
      '> one\n> two',
    );
  });

  it('renders ordered and unordered lists', () => {
    const items: Inline[][] = [[{ t: 'text', v: 'first' }], [{ t: 'text', v: 'second' }]];
    expect(toPlainText({ blocks: [{ t: 'list', ordered: true, items }] })).toBe('1. first\n2. second');
    expect(toPlainText({ blocks: [{ t: 'list', ordered: false, items }] })).toBe('- first\n- second');
  });

  it('renders pre blocks verbatim and separates blocks by a blank line', () => {
    const rt: RichText = { blocks: [p({ t: 'text', v: 'see:' }), { t: 'pre', v: 'x = 1\n  y = 2', lang: 'py' }, p({ t: 'text', v: 'end' })] };
    expect(toPlainText(rt)).toBe('see:\n\nx = 1\n  y = 2\n\nend');
  });

  it('renders an empty document as the empty string', () => {
    expect(toPlainText({ blocks: [] })).toBe('');
  });
});

describe('richTextSchema', () => {
  it.each(['https://x.example/a?b#c', 'http://x.example', 'HTTPS://X.EXAMPLE', 'mailto:a@b.example', 'xmpp:bob@x.example', 'sip:bob@x.example', 'sips:bob@x.example'])(
    'accepts link href %j',
    (href) => {
      expect(inlineSchema.safeParse({ t: 'link', href, v: 'x' }).success).toBe(true);
    },
  );

  it.each([
    'javascript:alert(1)',
    'JavaScript:alert(1)',
    ' javascript:alert(1)',
    'data:text/html,<script>alert(1)</script>',
    'vbscript:msgbox(1)',
    'file:///etc/passwd',
    '//evil.example/x',
    '/relative',
    '',
    'java\tscript:alert(1)',
  ])('rejects link href %j', (href) => {
    const r = richTextSchema.safeParse({ blocks: [{ t: 'p', c: [{ t: 'link', href, v: 'x' }] }] });
    expect(r.success).toBe(false);
    if (!r.success) expect(r.error.issues[0]?.path).toEqual(['blocks', 0, 'c', 0, 'href']);
  });

  it('rejects an unsafe href inside a list item and a quote', () => {
    const bad = { t: 'link', href: 'javascript:x', v: 'x' };
    expect(blockSchema.safeParse({ t: 'list', ordered: false, items: [[bad]] }).success).toBe(false);
    expect(blockSchema.safeParse({ t: 'quote', c: [bad] }).success).toBe(false);
  });

  it('accepts every block kind with mentions, marks and breaks', () => {
    const rt = {
      blocks: [
        { t: 'p', c: [{ t: 'text', v: 'x', marks: ['bold', 'italic', 'strike', 'code'] }, { t: 'br' }, { t: 'mention', id: '29:abc', v: 'Al' }] },
        { t: 'quote', c: [{ t: 'text', v: 'q' }], author: 'someone' },
        { t: 'pre', v: 'code', lang: 'ts' },
        { t: 'list', ordered: true, items: [[{ t: 'text', v: 'i' }], []] },
      ],
    };
    expect(richTextSchema.parse(rt)).toEqual(rt);
  });

  it.each([
    ['unknown block kind', { blocks: [{ t: 'div', c: [] }] }],
    ['unknown inline kind', { blocks: [{ t: 'p', c: [{ t: 'html', v: '<b>x</b>' }] }] }],
    ['unknown mark', { blocks: [{ t: 'p', c: [{ t: 'text', v: 'x', marks: ['underline'] }] }] }],
    ['too many marks', { blocks: [{ t: 'p', c: [{ t: 'text', v: 'x', marks: ['bold', 'bold', 'bold', 'bold', 'bold'] }] }] }],
    ['nested blocks', { blocks: [{ t: 'quote', c: [{ t: 'p', c: [] }] }] }],
    ['text too long', { blocks: [{ t: 'p', c: [{ t: 'text', v: 'x'.repeat(64 * 1024 + 1) }] }] }],
    ['pre too long', { blocks: [{ t: 'pre', v: 'x'.repeat(64 * 1024 + 1) }] }],
    ['href too long', { blocks: [{ t: 'p', c: [{ t: 'link', href: `https://x.example/${'a'.repeat(2048)}`, v: 'x' }] }] }],
    ['mention text too long', { blocks: [{ t: 'p', c: [{ t: 'mention', id: 'u', v: 'm'.repeat(257) }] }] }],
    ['pre lang too long', { blocks: [{ t: 'pre', v: 'x', lang: 'l'.repeat(33) }] }],
    ['too many blocks', { blocks: Array.from({ length: 1025 }, () => ({ t: 'p', c: [] })) }],
    ['too many inlines', { blocks: [{ t: 'p', c: Array.from({ length: 4097 }, () => ({ t: 'br' })) }] }],
    ['too many list items', { blocks: [{ t: 'list', ordered: false, items: Array.from({ length: 1025 }, () => []) }] }],
    ['blocks missing', {}],
  ])('rejects %s', (_label, rt) => {
    expect(richTextSchema.safeParse(rt).success).toBe(false);
  });

  it('accepts content exactly at the limits', () => {
    const rt = {
      blocks: [
        { t: 'p', c: [{ t: 'text', v: 'x'.repeat(64 * 1024) }] },
        { t: 'p', c: Array.from({ length: 4096 }, () => ({ t: 'br' })) },
        ...Array.from({ length: 1022 }, () => ({ t: 'p', c: [] })),
      ],
    };
    expect(richTextSchema.safeParse(rt).success).toBe(true);
  });
});
