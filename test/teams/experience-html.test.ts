import { describe, expect, it } from 'vitest';
import { richTextSchema, toPlainText, type RichText } from '../../src/core/richtext.ts';
import { decodeEntities, htmlToRichText, MAX_HTML_CHARS } from '../../src/connectors/teams/experience/html.ts';
import { richTextToHtml } from '../../src/core/richtext-html.ts';

const parse = (h: string): RichText => {
  const { body } = htmlToRichText(h);
  expect(richTextSchema.safeParse(body).success).toBe(true);
  return body;
};

describe('Teams HTML -> rich text', () => {
  it('keeps the safe subset: marks, links, breaks, paragraphs, lists, quotes, pre', () => {
    const body = parse(
      '<div><div><p>Hello <b>bold</b> <strong>strong</strong> <i>it</i> <em>em</em> <s>gone</s> <strike>x</strike> <code>c()</code></p>' +
        '<p>line<br>two &amp; &lt;three&gt; &#128077; &#x1F600;</p>' +
        '<ul><li>one</li><li>two <b>b</b></li></ul><ol><li>first</li></ol>' +
        '<blockquote>quoted <i>text</i></blockquote>' +
        '<pre>  code\n    indented &lt;x&gt;</pre>' +
        '<p><a href="https://example.org/a?b=1&amp;c=2">site</a> <a href="mailto:bob@example.org">mail</a></p></div></div>',
    );
    expect(body.blocks).toEqual([
      {
        t: 'p',
        c: [
          { t: 'text', v: 'Hello ' },
          { t: 'text', v: 'bold', marks: ['bold'] },
          { t: 'text', v: ' ' },
          { t: 'text', v: 'strong', marks: ['bold'] },
          { t: 'text', v: ' ' },
          { t: 'text', v: 'it', marks: ['italic'] },
          { t: 'text', v: ' ' },
          { t: 'text', v: 'em', marks: ['italic'] },
          { t: 'text', v: ' ' },
          { t: 'text', v: 'gone', marks: ['strike'] },
          { t: 'text', v: ' ' },
          { t: 'text', v: 'x', marks: ['strike'] },
          { t: 'text', v: ' ' },
          { t: 'text', v: 'c()', marks: ['code'] },
        ],
      },
      { t: 'p', c: [{ t: 'text', v: 'line' }, { t: 'br' }, { t: 'text', v: 'two & <three> 👍 😀' }] },
      { t: 'list', ordered: false, items: [[{ t: 'text', v: 'one' }], [{ t: 'text', v: 'two ' }, { t: 'text', v: 'b', marks: ['bold'] }]] },
      { t: 'list', ordered: true, items: [[{ t: 'text', v: 'first' }]] },
      { t: 'quote', c: [{ t: 'text', v: 'quoted ' }, { t: 'text', v: 'text', marks: ['italic'] }] },
      { t: 'pre', v: '  code\n    indented <x>' },
      { t: 'p', c: [{ t: 'link', href: 'https://example.org/a?b=1&c=2', v: 'site' }, { t: 'text', v: ' ' }, { t: 'link', href: 'mailto:bob@example.org', v: 'mail' }] },
    ]);
  });

  it('drops script, style and their content, event handlers and unknown tags', () => {
    const body = parse('<p>a<script>alert(1)</script>b<style>p{}</style>c<img src=x onerror="alert(2)">d<iframe src="https://evil"></iframe><svg><script>x</script></svg>e<span onclick="x()">f</span></p>');
    expect(toPlainText(body)).toBe('abc[image]def');
    expect(JSON.stringify(body)).not.toMatch(/alert|onerror|onclick|evil/);
  });

  it('never keeps javascript:, data: or vbscript: links (case and entity tricks included)', () => {
    for (const href of ['javascript:alert(1)', 'JaVaScRiPt:alert(1)', 'data:text/html,<script>', 'vbscript:x', '&#106;avascript:alert(1)', ' javascript:x', 'java\nscript:x']) {
      const body = parse(`<p><a href="${href}">click</a></p>`);
      expect(body.blocks).toEqual([{ t: 'p', c: [{ t: 'text', v: 'click' }] }]);
    }
  });

  it('Teams emoji and mentions become text and mention nodes', () => {
    const body = parse('<p>hi <at id="0">Alice Smith</at> <emoji id="smile" alt="😄" title="Smile"></emoji><img alt="👍" itemtype="http://schema.skype.com/Emoji" src="https://x"></p>');
    expect(body.blocks[0]).toEqual({ t: 'p', c: [{ t: 'text', v: 'hi ' }, { t: 'mention', id: '0', v: 'Alice Smith' }, { t: 'text', v: ' 😄👍' }] });
  });

  it('survives deep nesting and unbalanced tags without recursion', () => {
    const deep = '<div><b><i>'.repeat(20_000) + 'deep' + '</i></b></div>'.repeat(20_000);
    const body = parse(deep);
    expect(toPlainText(body)).toBe('deep');
    expect(parse('<b>open <i>never closed').blocks[0]).toMatchObject({ t: 'p' });
    expect(toPlainText(parse('</b></i></p>closing only'))).toBe('closing only');
  });

  it('caps huge input and reports truncation; hostile tag soup stays fast', () => {
    const huge = '<p>' + 'x'.repeat(MAX_HTML_CHARS * 2) + '</p>';
    const r = htmlToRichText(huge);
    expect(r.truncated).toBe(true);
    expect(toPlainText(r.body).length).toBeLessThanOrEqual(MAX_HTML_CHARS);
    const soups = ['<a "'.repeat(60_000), '<b '.repeat(80_000), "<a href='".repeat(25_000), '<p>'.repeat(80_000), '<br>'.repeat(60_000)];
    for (const soup of soups) {
      const t0 = performance.now();
      const s = htmlToRichText(soup);
      expect(performance.now() - t0).toBeLessThan(2000);
      expect(richTextSchema.safeParse(s.body).success).toBe(true);
    }
  });

  it('decodes entities, refusing invalid code points', () => {
    expect(decodeEntities('&amp;&lt;&gt;&quot;&#39;&nbsp;&#0;&#xD800;&#x110000;&unknown;')).toBe('&<>"\'\u00a0\ufffd\ufffd\ufffd&unknown;');
  });
});

describe('rich text -> Teams HTML', () => {
  it('escapes every text and attribute and round-trips through the parser', () => {
    const rt: RichText = {
      blocks: [
        { t: 'p', c: [{ t: 'text', v: '<script>alert("x")</script> & \'q\'' }, { t: 'br' }, { t: 'text', v: 'b', marks: ['bold', 'italic'] }] },
        { t: 'p', c: [{ t: 'link', href: 'https://e.org/?a=1&b=2', v: 'l<i>nk' }, { t: 'link', href: 'xmpp:bob@e.org', v: 'bob' }, { t: 'mention', id: 'x', v: 'Carol' }] },
        { t: 'quote', c: [{ t: 'text', v: 'q' }] },
        { t: 'pre', v: '<b>not bold</b>' },
        { t: 'list', ordered: true, items: [[{ t: 'text', v: 'one' }]] },
      ],
    };
    const html = richTextToHtml(rt);
    expect(html).not.toContain('<script>');
    expect(html).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;q&#39;');
    expect(html).toContain('<a href="https://e.org/?a=1&amp;b=2">l&lt;i&gt;nk</a>');
    expect(richTextToHtml({ blocks: [{ t: 'p', c: [{ t: 'link', href: 'https://e.org/"><script>', v: 'x' }] }] })).toBe('<p><a href="https://e.org/&quot;&gt;&lt;script&gt;">x</a></p>');
    expect(html).toContain('bob (xmpp:bob@e.org)');
    expect(html).toContain('<pre>&lt;b&gt;not bold&lt;/b&gt;</pre>');
    const back = parse(html);
    expect(toPlainText(back)).toBe(toPlainText(rt));
    expect(back.blocks[0]).toEqual({ t: 'p', c: [{ t: 'text', v: '<script>alert("x")</script> & \'q\'' }, { t: 'br' }, { t: 'text', v: 'b', marks: ['bold', 'italic'] }] });
  });
});
