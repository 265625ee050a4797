import { toPlainText, type Block, type Inline, type Mark, type RichText } from '../../core/richtext.ts';

/**
 * XEP-0393 Message Styling <-> Parley rich text. Spans (*bold*, _italic_,
 * ~strike~, `code`) never cross a line; "```" opens a preformatted block up
 * to a closing "```" line; lines starting with ">" are quotes. Bare http(s)
 * URLs become links.
 */
const SPAN: Record<string, Mark> = { '*': 'bold', _: 'italic', '~': 'strike', '`': 'code' };
const URL_RE = /https?:\/\/[^\s<>"]+[^\s<>".,;:!?)\]'}]/g;
const MAX_BLOCKS = 1024;
const MAX_INLINES = 4096;

function pushText(out: Inline[], v: string, marks: readonly Mark[]): void {
  if (!v) return;
  const m = marks.length ? { marks: [...marks] } : {};
  let last = 0;
  if (!marks.includes('code')) {
    for (const match of v.matchAll(URL_RE)) {
      const at = match.index;
      if (at > last) out.push({ t: 'text', v: v.slice(last, at), ...m });
      out.push({ t: 'link', href: match[0], v: match[0] });
      last = at + match[0].length;
    }
  }
  if (last < v.length) out.push({ t: 'text', v: v.slice(last), ...m });
}

/** Index of the closing directive for an opening at `open`, or -1. */
function closing(line: string, open: number, ch: string): number {
  if (open + 1 >= line.length || /\s/.test(line[open + 1] ?? ' ')) return -1;
  for (let j = open + 2; j < line.length; j++) {
    if (line[j] === ch && !/\s/.test(line[j - 1] ?? ' ')) return j;
  }
  return -1;
}

export function parseSpans(line: string, marks: readonly Mark[] = [], out: Inline[] = []): Inline[] {
  let textStart = 0;
  let i = 0;
  while (i < line.length) {
    const ch = line[i] ?? '';
    const mark = SPAN[ch];
    const atBoundary = i === 0 || /[\s*_~`]/.test(line[i - 1] ?? ' ');
    if (mark && atBoundary && !marks.includes(mark)) {
      const end = closing(line, i, ch);
      if (end > i + 1) {
        pushText(out, line.slice(textStart, i), marks);
        const inner = line.slice(i + 1, end);
        if (mark === 'code') pushText(out, inner, [...marks, 'code']);
        else parseSpans(inner, [...marks, mark], out);
        i = end + 1;
        textStart = i;
        continue;
      }
    }
    i++;
  }
  pushText(out, line.slice(textStart), marks);
  return out;
}

function linesToInlines(lines: readonly string[]): Inline[] {
  const c: Inline[] = [];
  lines.forEach((line, n) => {
    if (n > 0) c.push({ t: 'br' });
    parseSpans(line, [], c);
  });
  return c;
}

/** Text in which styling finds nothing: no span or block directive, no line break, no URL. */
const PLAIN_LINE = /^(?!>)[^*_~`\r\n]*$/;

export function parseStyling(text: string): RichText {
  // Most messages are one plain line: the same result without the line and span machinery.
  if (text !== '' && PLAIN_LINE.test(text) && !text.includes('://')) return { blocks: [{ t: 'p', c: [{ t: 'text', v: text }] }] };
  return parseStyledText(text);
}

/** The full parser (exported for the test that holds the shortcut to it). */
export function parseStyledText(text: string): RichText {
  const lines = text.split(/\r?\n/);
  const blocks: Block[] = [];
  let para: string[] = [];
  let quote: string[] = [];
  const flushPara = (): void => {
    if (para.length) blocks.push({ t: 'p', c: linesToInlines(para) });
    para = [];
  };
  const flushQuote = (): void => {
    if (quote.length) blocks.push({ t: 'quote', c: linesToInlines(quote) });
    quote = [];
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (line.startsWith('```')) {
      const end = lines.findIndex((l, j) => j > i && l === '```');
      if (end > i) {
        flushPara();
        flushQuote();
        const lang = line.slice(3).trim();
        blocks.push({ t: 'pre', v: lines.slice(i + 1, end).join('\n'), ...(lang ? { lang: lang.slice(0, 32) } : {}) });
        i = end;
        continue;
      }
    }
    if (line.startsWith('>')) {
      flushPara();
      quote.push(line.replace(/^> ?/, ''));
      continue;
    }
    flushQuote();
    if (line === '') flushPara();
    else para.push(line);
  }
  flushPara();
  flushQuote();
  if (blocks.length > MAX_BLOCKS || blocks.some((b) => 'c' in b && b.c.length > MAX_INLINES)) {
    // Too much structure to keep: plain text, which renders back the same.
    return { blocks: [{ t: 'pre', v: text.slice(0, 64 * 1024) }] };
  }
  return { blocks };
}

const MARK_CHAR: Record<Mark, string> = { bold: '*', italic: '_', strike: '~', code: '`' };

/** A text node with its marks in XEP-0393 syntax (only around text that can carry them). */
function styledText(n: Extract<Inline, { t: 'text' }>): string {
  const marks = n.marks ?? [];
  let v = n.v;
  if (marks.length && v.trim() === v && v.length > 0 && !v.includes('\n')) {
    const order: Mark[] = marks.includes('code') ? ['code'] : marks;
    for (const m of order) v = `${MARK_CHAR[m]}${v}${MARK_CHAR[m]}`;
  }
  return v;
}

export function renderStyling(rt: RichText): string {
  const only = rt.blocks.length === 1 ? rt.blocks[0] : undefined;
  if (only?.t === 'p' && only.c.length === 1) {
    const n = only.c[0];
    if (n?.t === 'text' && !n.marks?.length) return n.v;
  }
  return toPlainText(rt, { text: styledText, pre: (b) => `\`\`\`${b.lang ?? ''}\n${b.v}\n\`\`\`` });
}
