import type { Block, Inline, Mark, RichText } from '../../../core/richtext.ts';

/**
 * Teams HTML -> Parley rich text (html-writer.ts does the way back). The parser is a small tokenizer over a
 * whitelist: it builds no DOM (so nesting depth costs nothing), keeps only
 * b/strong, i/em, s/strike/del, code, pre, a (http/https/mailto), br, p/div,
 * ul/ol/li, blockquote, Teams mentions and emoji, and drops everything else
 * (script and style with their content).
 */
export const MAX_HTML_CHARS = 256 * 1024;
const MAX_TEXT = 64 * 1024;
const MAX_INLINES = 4096;
const MAX_BLOCKS = 1024;
const MAX_LIST_ITEMS = 1024;

const DROP_WITH_CONTENT = new Set(['script', 'style', 'head', 'title', 'template', 'iframe', 'object', 'embed', 'svg', 'math', 'noscript', 'textarea', 'select']);
const BLOCK_TAGS = new Set(['p', 'div', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'tr', 'table', 'section', 'article', 'header', 'footer', 'hr']);
const MARK_TAGS: Record<string, Mark> = { b: 'bold', strong: 'bold', i: 'italic', em: 'italic', s: 'strike', strike: 'strike', del: 'strike', code: 'code' };
const LINK_OK = /^(https?:|mailto:)/i;

const NAMED: Record<string, string> = {
  amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0', copy: '©', reg: '®', trade: '™',
  hellip: '…', mdash: '—', ndash: '–', lsquo: '‘', rsquo: '’', ldquo: '“', rdquo: '”', bull: '•', middot: '·',
  euro: '€', pound: '£', yen: '¥', cent: '¢', sect: '§', deg: '°', times: '×', divide: '÷', laquo: '«', raquo: '»',
  zwj: '\u200d', zwnj: '\u200c',
};

export function decodeEntities(s: string): string {
  if (!s.includes('&')) return s;
  return s.replace(/&(#[xX][0-9a-fA-F]{1,8}|#[0-9]{1,10}|[a-zA-Z]{2,10});?/g, (m, ref: string) => {
    if (ref.startsWith('#')) {
      const cp = ref[1] === 'x' || ref[1] === 'X' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
      if (!Number.isFinite(cp) || cp <= 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return '\ufffd';
      return String.fromCodePoint(cp);
    }
    return NAMED[ref.toLowerCase()] ?? m;
  });
}

interface Tag {
  name: string;
  close: boolean;
  attrs: Record<string, string>;
}

const ATTR_RE = /([^\s"'>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?/g;

function parseAttrs(s: string): Record<string, string> {
  const attrs: Record<string, string> = {};
  let n = 0;
  for (const m of s.matchAll(ATTR_RE)) {
    if (++n > 32) break;
    const name = (m[1] ?? '').toLowerCase();
    if (!(name in attrs)) attrs[name] = decodeEntities(m[2] ?? m[3] ?? m[4] ?? '');
  }
  return attrs;
}

const MAX_TAG_CHARS = 4096;

/** End (index after `>`) of the tag opening at `lt`, quotes respected; -1 when it is not a tag. */
function tagEnd(html: string, lt: number): number {
  let quote = '';
  const stop = Math.min(html.length, lt + MAX_TAG_CHARS);
  for (let i = lt + 1; i < stop; i++) {
    const c = html[i];
    if (quote) {
      if (c === quote) quote = '';
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '>') return i + 1;
    else if (c === '<') return -1;
  }
  return -1;
}

const TAG_HEAD = /^<(\/?)([a-zA-Z][a-zA-Z0-9:-]{0,31})(?=[\s/>])/;

/** Text and tags in order; comments, doctypes and processing instructions vanish. */
function* tokens(html: string): Generator<string | Tag> {
  let i = 0;
  while (i < html.length) {
    const lt = html.indexOf('<', i);
    if (lt < 0) {
      yield html.slice(i);
      return;
    }
    if (lt > i) yield html.slice(i, lt);
    if (html.startsWith('<!--', lt)) {
      const end = html.indexOf('-->', lt + 4);
      i = end < 0 ? html.length : end + 3;
      continue;
    }
    const next = html[lt + 1] ?? '';
    if (next === '!' || next === '?') {
      const end = html.indexOf('>', lt);
      i = end < 0 ? html.length : end + 1;
      continue;
    }
    const head = TAG_HEAD.exec(html.slice(lt, lt + 40));
    const end = head ? tagEnd(html, lt) : -1;
    if (!head || end < 0) {
      yield '<';
      i = lt + 1;
      continue;
    }
    const close = head[1] === '/';
    const inner = html.slice(lt + head[0].length, end - 1);
    yield { name: (head[2] ?? '').toLowerCase(), close, attrs: close ? {} : parseAttrs(inner) };
    i = end;
  }
}

class Builder {
  readonly blocks: Block[] = [];
  private inl: Inline[] = [];
  private quote: Inline[] | undefined;
  private list: { ordered: boolean; items: Inline[][] } | undefined;
  private item: Inline[] | undefined;
  truncated = false;

  private target(): Inline[] {
    return this.item ?? this.quote ?? this.inl;
  }

  private room(): boolean {
    if (this.blocks.length >= MAX_BLOCKS - 1 || this.target().length >= MAX_INLINES) {
      this.truncated = true;
      return false;
    }
    return true;
  }

  text(v: string, marks: readonly Mark[]): void {
    const t = this.target();
    if (v === '' || !this.room()) return;
    if (t.length === 0 || t[t.length - 1]?.t === 'br') v = v.replace(/^ +/, '');
    if (v === '') return;
    const last = t[t.length - 1];
    const sameMarks = (a: readonly Mark[] | undefined) => (a ?? []).join() === marks.join();
    if (last?.t === 'text' && sameMarks(last.marks) && last.v.length + v.length <= MAX_TEXT) {
      last.v += v;
      return;
    }
    for (let i = 0; i < v.length; i += MAX_TEXT) t.push(marks.length ? { t: 'text', v: v.slice(i, i + MAX_TEXT), marks: [...marks] } : { t: 'text', v: v.slice(i, i + MAX_TEXT) });
  }

  node(n: Inline): void {
    if (!this.room()) return;
    const t = this.target();
    if (n.t === 'br' && t.length === 0) return;
    t.push(n);
  }

  /** Ends the paragraph (or the list item's line, or the quote's line). */
  boundary(): void {
    if (this.item || this.quote) {
      const t = this.target();
      trimEnd(t);
      if (t.length > 0 && t[t.length - 1]?.t !== 'br') t.push({ t: 'br' });
      return;
    }
    trimEnd(this.inl);
    if (this.inl.length > 0) this.push({ t: 'p', c: this.inl });
    this.inl = [];
  }

  push(b: Block): void {
    if (this.blocks.length >= MAX_BLOCKS) {
      this.truncated = true;
      return;
    }
    this.blocks.push(b);
  }

  openQuote(): void {
    if (this.quote || this.list) return;
    this.boundary();
    this.quote = [];
  }

  closeQuote(): void {
    if (!this.quote) return;
    trimEnd(this.quote);
    if (this.quote.length > 0) this.push({ t: 'quote', c: this.quote });
    this.quote = undefined;
  }

  openList(ordered: boolean): void {
    if (this.list) return;
    this.closeQuote();
    this.boundary();
    this.list = { ordered, items: [] };
  }

  openItem(): void {
    if (!this.list) return;
    this.closeItem();
    this.item = [];
  }

  closeItem(): void {
    if (!this.list || !this.item) return;
    trimEnd(this.item);
    if (this.item.length > 0 && this.list.items.length < MAX_LIST_ITEMS) this.list.items.push(this.item);
    else if (this.item.length > 0) this.truncated = true;
    this.item = undefined;
  }

  closeList(): void {
    if (!this.list) return;
    this.closeItem();
    if (this.list.items.length > 0) this.push({ t: 'list', ordered: this.list.ordered, items: this.list.items });
    this.list = undefined;
  }

  finish(): RichText {
    this.closeList();
    this.closeQuote();
    this.boundary();
    return { blocks: this.blocks };
  }
}

function trimEnd(t: Inline[]): void {
  while (t.length > 0) {
    const last = t[t.length - 1];
    if (last?.t === 'br') t.pop();
    else if (last?.t === 'text') {
      last.v = last.v.replace(/\s+$/, '');
      if (last.v === '') t.pop();
      else return;
    } else return;
  }
}

export interface ParsedHtml {
  body: RichText;
  /** Input was cut to the size limits. */
  truncated: boolean;
}

/** Teams HTML (or any HTML) to rich text, keeping only the safe subset. */
export function htmlToRichText(input: string): ParsedHtml {
  let truncated = false;
  let html = input;
  if (html.length > MAX_HTML_CHARS) {
    html = html.slice(0, MAX_HTML_CHARS);
    truncated = true;
  }
  const b = new Builder();
  const marks = new Map<Mark, number>();
  let dropDepth = 0;
  let dropTag = '';
  let pre: string[] | undefined;
  let link: { href: string; v: string } | undefined;
  let mention: { id: string; v: string } | undefined;

  const activeMarks = (): Mark[] => (['bold', 'italic', 'strike', 'code'] as const).filter((m) => (marks.get(m) ?? 0) > 0);

  for (const tok of tokens(html)) {
    if (dropDepth > 0) {
      if (typeof tok !== 'string' && tok.name === dropTag) dropDepth += tok.close ? -1 : 1;
      continue;
    }
    if (typeof tok === 'string') {
      const text = decodeEntities(tok);
      if (pre) pre.push(text);
      else if (mention) mention.v += text;
      else if (link) link.v += text;
      else b.text(text.replace(/[\t\n\f\r ]+/g, ' ').replace(/\u00a0/g, ' '), activeMarks());
      continue;
    }
    const { name, close, attrs } = tok;
    if (DROP_WITH_CONTENT.has(name)) {
      if (!close) {
        dropDepth = 1;
        dropTag = name;
      }
      continue;
    }
    if (pre) {
      if (name === 'pre' && close) {
        b.push({ t: 'pre', v: pre.join('').replace(/^\n/, '').replace(/\n$/, '').slice(0, MAX_TEXT) });
        pre = undefined;
      } else if (name === 'br') pre.push('\n');
      continue;
    }
    if (name === 'pre' && !close) {
      b.closeList();
      b.closeQuote();
      b.boundary();
      pre = [];
      continue;
    }
    const mark = MARK_TAGS[name];
    if (mark) {
      marks.set(mark, Math.max(0, (marks.get(mark) ?? 0) + (close ? -1 : 1)));
      continue;
    }
    switch (name) {
      case 'br':
        if (!close) b.node({ t: 'br' });
        break;
      case 'a':
        if (!close && !link) link = { href: (attrs.href ?? '').trim(), v: '' };
        else if (close && link) {
          const v = link.v.replace(/\s+/g, ' ').trim().slice(0, MAX_TEXT);
          if (LINK_OK.test(link.href) && link.href.length <= 2048 && !/[\s<>"]/.test(link.href)) b.node({ t: 'link', href: link.href, v: v || link.href });
          else b.text(v, activeMarks());
          link = undefined;
        }
        break;
      case 'at':
        if (!close && !mention) mention = { id: (attrs.id ?? '').slice(0, 512), v: '' };
        else if (close && mention) {
          const v = mention.v.replace(/\s+/g, ' ').trim().slice(0, 256);
          if (v) b.node({ t: 'mention', id: mention.id, v });
          mention = undefined;
        }
        break;
      case 'img':
      case 'emoji': {
        if (close) break;
        const alt = (attrs.alt ?? '').slice(0, 64);
        const emoji = name === 'emoji' || /schema\.skype\.com\/Emoji/i.test(attrs.itemtype ?? '');
        const out = emoji && alt ? alt : alt ? `[image: ${alt}]` : '[image]';
        if (link) link.v += out;
        else b.text(out, activeMarks());
        break;
      }
      case 'blockquote':
        if (close) b.closeQuote();
        else b.openQuote();
        break;
      case 'ul':
      case 'ol':
        if (close) b.closeList();
        else b.openList(name === 'ol');
        break;
      case 'li':
        if (close) b.closeItem();
        else b.openItem();
        break;
      default:
        if (BLOCK_TAGS.has(name)) {
          b.boundary();
          if (name.startsWith('h') && name.length === 2) marks.set('bold', Math.max(0, (marks.get('bold') ?? 0) + (close ? -1 : 1)));
        }
    }
  }
  if (pre) b.push({ t: 'pre', v: pre.join('').slice(0, MAX_TEXT) });
  const body = b.finish();
  return { body, truncated: truncated || b.truncated };
}
