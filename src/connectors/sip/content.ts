import { TextDecoder } from 'node:util';
import { escapeHtml, richTextToHtml } from '../../core/richtext-html.ts';
import { fromPlainText, toPlainText, type Block, type Inline, type Mark, type RichText } from '../../core/richtext.ts';

/**
 * Bodies of SIP messages: charset decoding, and text/html <-> Parley's rich
 * text. Input is hostile: sizes are bounded by the caller, the HTML reader
 * is a flat tokenizer (no recursion, no entities beyond the common ones), and
 * anything it does not know becomes text.
 */

export interface ContentType {
  type: string;
  charset: string;
}

export function parseContentType(header: string | undefined): ContentType {
  const value = (header ?? 'text/plain').slice(0, 512);
  const [mime = '', ...params] = value.split(';');
  let charset = 'utf-8';
  for (const p of params) {
    const m = /^\s*charset\s*=\s*"?([A-Za-z0-9._:-]{1,40})"?\s*$/i.exec(p);
    if (m?.[1]) charset = m[1].toLowerCase();
  }
  return { type: mime.trim().toLowerCase(), charset };
}

/** Body bytes (a latin1 byte string, as the transport hands them over) decoded with the declared charset. */
export function decodeBody(byteString: string, charset: string): string {
  const bytes = Buffer.from(byteString, 'latin1');
  let decoder: TextDecoder;
  try {
    decoder = new TextDecoder(charset, { fatal: false });
  } catch {
    decoder = new TextDecoder('utf-8', { fatal: false });
  }
  return decoder.decode(bytes);
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0' };

function unescapeHtml(s: string): string {
  return s.replace(/&(#x[0-9a-f]{1,6}|#[0-9]{1,7}|[a-z]{2,6});/gi, (all, e: string) => {
    if (e[0] === '#') {
      const code = e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
      return code > 0 && code <= 0x10ffff && !(code >= 0xd800 && code <= 0xdfff) ? String.fromCodePoint(code) : '\ufffd';
    }
    return ENTITIES[e.toLowerCase()] ?? all;
  });
}


const MARK_TAGS: Record<string, Mark> = { b: 'bold', strong: 'bold', i: 'italic', em: 'italic', s: 'strike', strike: 'strike', del: 'strike', code: 'code', tt: 'code' };
const BLOCK_TAGS = new Set(['p', 'div', 'blockquote', 'pre', 'ul', 'ol', 'li', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'body', 'html', 'table', 'tr']);
const DROP_CONTENT = new Set(['script', 'style', 'head', 'title']);
const SAFE_HREF = /^(https?:|mailto:|xmpp:|sip:|sips:)/i;

/** text/html (a fragment or a document) to rich text. */
export function htmlToRichText(html: string): RichText {
  const blocks: Block[] = [];
  const marks = new Map<Mark, number>();
  let inlines: Inline[] = [];
  let kind: 'p' | 'quote' | 'pre' | 'list' = 'p';
  let listItems: Inline[][] = [];
  let ordered = false;
  let pre = '';
  let link: { href: string; text: string } | undefined;
  let drop = 0;
  const activeMarks = (): Mark[] => [...marks].filter(([, n]) => n > 0).map(([m]) => m);
  const flush = (): void => {
    if (kind === 'pre') {
      if (pre.length > 0) blocks.push({ t: 'pre', v: pre });
      pre = '';
    } else if (kind === 'list') {
      if (inlines.length > 0) listItems.push(inlines);
      if (listItems.length > 0) blocks.push({ t: 'list', ordered, items: listItems });
      listItems = [];
    } else if (inlines.some((n) => n.t !== 'br')) {
      blocks.push(kind === 'quote' ? { t: 'quote', c: inlines } : { t: 'p', c: inlines });
    }
    inlines = [];
  };
  const text = (raw: string): void => {
    if (drop > 0) return;
    const v = kind === 'pre' ? unescapeHtml(raw) : unescapeHtml(raw.replace(/\s+/g, ' '));
    if (v.length === 0 || (v === ' ' && inlines.length === 0)) return;
    if (kind === 'pre') pre += v;
    else if (link) link.text += v;
    else {
      const m = activeMarks();
      inlines.push(m.length > 0 ? { t: 'text', v, marks: m } : { t: 'text', v });
    }
  };
  const re = /<(\/?)([a-zA-Z][a-zA-Z0-9]*)([^>]*)>|<!--[\s\S]*?-->|<![^>]*>|<\?[^>]*>/g;
  let last = 0;
  for (let m = re.exec(html); m !== null; m = re.exec(html)) {
    text(html.slice(last, m.index));
    last = re.lastIndex;
    const name = m[2]?.toLowerCase();
    if (!name) continue;
    const closing = m[1] === '/';
    if (DROP_CONTENT.has(name)) {
      drop = Math.max(0, drop + (closing ? -1 : 1));
      continue;
    }
    const mark = MARK_TAGS[name];
    if (mark) {
      marks.set(mark, Math.max(0, (marks.get(mark) ?? 0) + (closing ? -1 : 1)));
    } else if (name === 'br') {
      if (kind === 'pre') pre += '\n';
      else inlines.push({ t: 'br' });
    } else if (name === 'a') {
      if (!closing) {
        const href = /href\s*=\s*("([^"]*)"|'([^']*)'|([^\s>]+))/i.exec(m[3] ?? '');
        const value = unescapeHtml(href?.[2] ?? href?.[3] ?? href?.[4] ?? '');
        link = SAFE_HREF.test(value) ? { href: value.slice(0, 2048), text: '' } : undefined;
      } else if (link) {
        inlines.push({ t: 'link', href: link.href, v: link.text });
        link = undefined;
      }
    } else if (BLOCK_TAGS.has(name)) {
      if (name === 'li') {
        if (kind === 'list' && inlines.length > 0) listItems.push(inlines);
        inlines = [];
        continue;
      }
      flush();
      if (closing) kind = 'p';
      else if (name === 'blockquote') kind = 'quote';
      else if (name === 'pre') kind = 'pre';
      else if (name === 'ul' || name === 'ol') {
        kind = 'list';
        ordered = name === 'ol';
      }
    }
    if (blocks.length > 1000 || inlines.length > 4000) break;
  }
  text(html.slice(last));
  if (link) inlines.push({ t: 'link', href: link.href, v: link.text });
  flush();
  return { blocks: blocks.slice(0, 1000) };
}

/** True when the text has formatting plain text would lose. */
export function isRich(rt: RichText): boolean {
  return rt.blocks.some((b) => b.t !== 'p' || b.c.some((n) => n.t === 'link' || n.t === 'mention' || (n.t === 'text' && (n.marks?.length ?? 0) > 0)));
}

/** An inbound body as rich text, or undefined for a content type that is not text. */
export function bodyToRichText(byteString: string, contentType: ContentType): RichText | undefined {
  if (contentType.type === 'text/plain' || contentType.type === '') return fromPlainText(decodeBody(byteString, contentType.charset));
  if (contentType.type === 'text/html' || contentType.type === 'application/xhtml+xml') return htmlToRichText(decodeBody(byteString, contentType.charset));
  return undefined;
}

export { escapeHtml, richTextToHtml, toPlainText };
