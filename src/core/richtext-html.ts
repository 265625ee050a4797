import type { Inline, RichText } from './richtext.ts';

/**
 * Parley rich text -> a small HTML subset (Teams messages, SIP text/html):
 * every character of text and attribute that HTML gives meaning to is
 * escaped, and only http(s) and mailto links become anchors.
 */
const LINK_OK = /^(https?:|mailto:)/i;

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

function inlineHtml(nodes: readonly Inline[]): string {
  let out = '';
  for (const n of nodes) {
    switch (n.t) {
      case 'br':
        out += '<br>';
        break;
      case 'mention':
        out += escapeHtml(n.v.startsWith('@') ? n.v : `@${n.v}`);
        break;
      case 'link':
        if (LINK_OK.test(n.href)) out += `<a href="${escapeHtml(n.href)}">${escapeHtml(n.v || n.href)}</a>`;
        else out += escapeHtml(n.v && n.v !== n.href ? `${n.v} (${n.href})` : n.href);
        break;
      case 'text': {
        let s = escapeHtml(n.v).replace(/\r?\n/g, '<br>');
        for (const m of n.marks ?? []) {
          const tag = m === 'bold' ? 'b' : m === 'italic' ? 'i' : m === 'strike' ? 's' : 'code';
          s = `<${tag}>${s}</${tag}>`;
        }
        out += s;
      }
    }
  }
  return out;
}

/** Rich text as HTML; every text character escaped. */
export function richTextToHtml(rt: RichText): string {
  return rt.blocks
    .map((b) => {
      switch (b.t) {
        case 'p':
          return `<p>${inlineHtml(b.c)}</p>`;
        case 'quote':
          return `<blockquote>${b.author ? `<b>${escapeHtml(b.author)}</b><br>` : ''}${inlineHtml(b.c)}</blockquote>`;
        case 'pre':
          return `<pre>${escapeHtml(b.v)}</pre>`;
        case 'list': {
          const tag = b.ordered ? 'ol' : 'ul';
          return `<${tag}>${b.items.map((i) => `<li>${inlineHtml(i)}</li>`).join('')}</${tag}>`;
        }
      }
    })
    .join('');
}
