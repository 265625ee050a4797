import { z } from 'zod';
import { MARKS, MAX_BLOCKS, MAX_INLINES, MAX_TEXT } from './limits.ts';

/**
 * Parley's one rich-text representation: a small, flat, safe AST. Connectors
 * convert Teams HTML, XEP-0393 styling and SIP text/html to and from it.
 * Nothing in it can carry script or markup: only text, marks, links with
 * http(s)/mailto/xmpp/sip hrefs, and mentions. Depth is fixed (blocks hold
 * inlines), so a hostile input cannot nest it deeply.
 */
export { MARKS };
export type Mark = (typeof MARKS)[number];

const SAFE_HREF = /^(https?:|mailto:|xmpp:|sip:|sips:)/i;

const textNode = z.object({
  t: z.literal('text'),
  v: z.string().max(MAX_TEXT),
  marks: z.array(z.enum(MARKS)).max(MARKS.length).optional(),
});
const linkNode = z.object({
  t: z.literal('link'),
  href: z.string().max(2048).refine((h) => SAFE_HREF.test(h), { message: 'link scheme not allowed' }),
  v: z.string().max(MAX_TEXT),
});
const mentionNode = z.object({ t: z.literal('mention'), id: z.string().max(512), v: z.string().max(256) });
const breakNode = z.object({ t: z.literal('br') });

export const inlineSchema = z.discriminatedUnion('t', [textNode, linkNode, mentionNode, breakNode]);
export type Inline = z.infer<typeof inlineSchema>;

const inlines = z.array(inlineSchema).max(MAX_INLINES);

export const blockSchema = z.discriminatedUnion('t', [
  z.object({ t: z.literal('p'), c: inlines }),
  z.object({ t: z.literal('quote'), c: inlines, author: z.string().max(256).optional() }),
  z.object({ t: z.literal('pre'), v: z.string().max(MAX_TEXT), lang: z.string().max(32).optional() }),
  z.object({ t: z.literal('list'), ordered: z.boolean(), items: z.array(inlines).max(1024) }),
]);
export type Block = z.infer<typeof blockSchema>;

export const richTextSchema = z.object({ blocks: z.array(blockSchema).max(MAX_BLOCKS) });
export type RichText = z.infer<typeof richTextSchema>;

export function fromPlainText(text: string): RichText {
  const paragraphs = text.split(/\r?\n\r?\n/);
  const oversized =
    paragraphs.length > MAX_BLOCKS ||
    paragraphs.some((p) => {
      const lines = p.split(/\r?\n/);
      return lines.length * 2 > MAX_INLINES || lines.some((l) => l.length > MAX_TEXT);
    });
  if (oversized) {
    // Too big to structure: one paragraph of raw chunks, which still renders back to the same text.
    const c: Inline[] = [];
    for (let i = 0; i < text.length; i += MAX_TEXT) c.push({ t: 'text', v: text.slice(i, i + MAX_TEXT) });
    return { blocks: [{ t: 'p', c }] };
  }
  return {
    blocks: paragraphs.map((p) => {
      const lines = p.split(/\r?\n/);
      const c: Inline[] = [];
      lines.forEach((line, i) => {
        if (i > 0) c.push({ t: 'br' });
        if (line.length > 0) c.push({ t: 'text', v: line });
      });
      return { t: 'p', c };
    }),
  };
}

type TextNode = Extract<Inline, { t: 'text' }>;

/**
 * Inlines as text: line breaks, links as `label (href)`, mentions as `@name`.
 * `text` renders a text node (a connector's mark syntax); plain by default.
 */
function inlineText(nodes: readonly Inline[], text: (n: TextNode) => string = (n) => n.v): string {
  let out = '';
  for (const n of nodes) {
    if (n.t === 'br') out += '\n';
    else if (n.t === 'link') out += n.v && n.v !== n.href ? `${n.v} (${n.href})` : n.href;
    else if (n.t === 'mention') out += n.v.startsWith('@') ? n.v : `@${n.v}`;
    else out += text(n);
  }
  return out;
}

/** How a text format writes what plain text cannot: marked text and preformatted blocks. */
export interface TextStyle {
  text?: (n: TextNode) => string;
  pre?: (b: Extract<Block, { t: 'pre' }>) => string;
}

/**
 * Plain-text fallback, for platforms and clients that show no formatting;
 * with a style, any line-based text format (XEP-0393 styling, ...).
 */
export function toPlainText(rt: RichText, style: TextStyle = {}): string {
  const inl = (nodes: readonly Inline[]): string => inlineText(nodes, style.text);
  return rt.blocks
    .map((b) => {
      switch (b.t) {
        case 'p':
          return inl(b.c);
        case 'quote':
          return inl(b.c)
            .split('\n')
            .map((l) => `> ${l}`)
            .join('\n');
        case 'pre':
          return style.pre ? style.pre(b) : b.v;
        case 'list':
          return b.items.map((item, i) => `${b.ordered ? `${i + 1}.` : '-'} ${inl(item)}`).join('\n');
      }
    })
    .join('\n\n');
}
