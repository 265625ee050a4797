import { Grammar } from 'sip.js';
import { afterAll, describe, expect, it } from 'vitest';
import { bodyToRichText, htmlToRichText, parseContentType, richTextToHtml } from '../../src/connectors/sip/content.ts';
import { grammarCached, installCachedGrammar, useStockGrammar } from '../../src/connectors/sip/grammar.ts';
import { buildIsComposing, parseIsComposing } from '../../src/connectors/sip/iscomposing.ts';
import { buildPidf, parsePidf } from '../../src/connectors/sip/pidf.ts';
import { errorForResponse } from '../../src/connectors/sip/status.ts';
import { richTextSchema } from '../../src/core/richtext.ts';

const HEADER_SAMPLES: Array<[string, string]> = [
  ['SIP/2.0/WS df7jal23ls0d.invalid;branch=z9hG4bK7311846;rport', 'Via'],
  ['SIP/2.0/UDP 127.0.0.1:5060;received=1.2.3.4;rport=5060;branch=z9hG4bKabc;alias', 'Via'],
  ['"Alice Ü" <sip:alice@atlanta.example.com>;tag=9fxced76sl', 'From'],
  ['sip:bob@biloxi.example.com;tag=8321234356', 'To'],
  ['<sip:bob@partner.example>;tag=abc', 'From'],
  ['<sip:user1@parley.local:5070>', 'To'],
  ['<sip:User1@Parley.Local>', 'To'],
  ['MESSAGE sip:k3l2@df7jal23ls0d.invalid;transport=ws SIP/2.0', 'Request_Response'],
  ['NOTIFY sip:u@127.0.0.1:5060 SIP/2.0', 'Request_Response'],
  ['<sip:u@h;transport=ws>;expires=600;+sip.instance="<urn:uuid:0c1b2e3d>", <sip:v@h>', 'Contact'],
  ['3848276298220188511@atlanta.example.com', 'Call_ID'],
  ['j2qu348ek2328ws', 'Call_ID'],
  ['with space', 'Call_ID'],
  ['0', 'Content_Length'],
  ['12a', 'Content_Length'],
  ['314159 INVITE', 'CSeq'],
  ['1 message', 'CSeq'],
  ['0009 OPTIONS', 'CSeq'],
  ['text/html;charset=ISO-8859-1', 'Content_Type'],
  ['multipart/mixed; boundary="x y"', 'Content_Type'],
  ['text/', 'Content_Type'],
  ['70', 'Max_Forwards'],
  ['SIP/2.0 200 OK', 'Request_Response'],
  ['SIP/2.0 404 Not Found', 'Request_Response'],
  ['SIP/2.0 200 Ok ñ', 'Request_Response'],
  ['SIP/2.0 2000 OK', 'Request_Response'],
  ['MESSAGE sip:user1@parley.local;transport=ws SIP/2.0', 'Request_Response'],
  ['INVITE sip:vivekg@chair-dnrc.example.com;unknownparam SIP/2.0', 'Request_Response'],
  ['active;expires=3600', 'Subscription_State'],
  ['terminated;reason=rejected', 'Subscription_State'],
  ['sip:%61lice@atlanta.com;transport=TCP', 'SIP_URI'],
  ['<sip:127.0.0.1;lr;r2=on>', 'Record_Route'],
];

const shape = (v: unknown): string => JSON.stringify(v);

describe('sip.js grammar with cached tables', () => {
  afterAll(() => void installCachedGrammar());

  it('parses every sample exactly as the stock parser does, and is installed', () => {
    useStockGrammar();
    const stock = HEADER_SAMPLES.map(([i, r]) => shape(Grammar.parse(i, r)));
    expect(installCachedGrammar()).toEqual({ ok: true });
    expect(grammarCached()).toBe(true);
    const cached = HEADER_SAMPLES.map(([i, r]) => shape(Grammar.parse(i, r)));
    expect(cached).toEqual(stock);
  });

  it('survives random input the same way as the stock parser', () => {
    const rules = ['Via', 'From', 'Contact', 'CSeq', 'Call_ID', 'Content_Type', 'Request_Response'];
    const alphabet = 'sip:@;=<>"\\ ,./0123456789abcXYZ\t-_%!~*()ñ\u0000';
    const inputs: Array<[string, string]> = [];
    for (let i = 0; i < 400; i++) {
      let s = '';
      for (let j = 0, n = Math.floor(Math.random() * 40); j < n; j++) s += alphabet[Math.floor(Math.random() * alphabet.length)];
      inputs.push([s, rules[i % rules.length] as string]);
    }
    useStockGrammar();
    const stock = inputs.map(([i, r]) => shape(Grammar.parse(i, r)));
    installCachedGrammar();
    expect(inputs.map(([i, r]) => shape(Grammar.parse(i, r)))).toEqual(stock);
  });
});

describe('SIP formats', () => {
  it('HTML to rich text keeps marks, links and lists, drops script and unsafe links, and stays within the schema', () => {
    const rt = htmlToRichText('<p>Hi <b>there</b> <a href="javascript:x">bad</a> <a href="https://e.x/">good</a></p><ul><li>one</li><li>two</li></ul><script>evil()</script><pre>a  b</pre>');
    expect(richTextSchema.safeParse(rt).success).toBe(true);
    expect(rt.blocks[0]).toEqual({ t: 'p', c: [{ t: 'text', v: 'Hi ' }, { t: 'text', v: 'there', marks: ['bold'] }, { t: 'text', v: ' ' }, { t: 'text', v: 'bad' }, { t: 'text', v: ' ' }, { t: 'link', href: 'https://e.x/', v: 'good' }] });
    expect(rt.blocks[1]).toEqual({ t: 'list', ordered: false, items: [[{ t: 'text', v: 'one' }], [{ t: 'text', v: 'two' }]] });
    expect(rt.blocks[2]).toEqual({ t: 'pre', v: 'a  b' });
    expect(richTextToHtml({ blocks: [{ t: 'p', c: [{ t: 'text', v: '<x>&', marks: ['italic'] }] }] })).toBe('<p><i>&lt;x&gt;&amp;</i></p>');
  });

  it('hostile HTML stays bounded and valid', () => {
    const rt = htmlToRichText('<b>'.repeat(20_000) + 'x'.repeat(10) + '<p>'.repeat(5_000));
    expect(richTextSchema.safeParse(rt).success).toBe(true);
  });

  it('decodes charsets, and falls back to UTF-8 for unknown ones', () => {
    const latin1 = Buffer.from('caf\xe9', 'latin1').toString('latin1');
    expect(bodyToRichText(latin1, parseContentType('text/plain; charset="ISO-8859-1"'))).toEqual({ blocks: [{ t: 'p', c: [{ t: 'text', v: 'café' }] }] });
    const utf8 = Buffer.from('café', 'utf8').toString('latin1');
    expect(bodyToRichText(utf8, parseContentType('text/plain;charset=x-unknown'))).toEqual({ blocks: [{ t: 'p', c: [{ t: 'text', v: 'café' }] }] });
    expect(bodyToRichText('x', parseContentType('image/png'))).toBeUndefined();
  });

  it('PIDF round trip for every show, and RPID activities from other clients', () => {
    for (const show of ['available', 'away', 'dnd', 'offline'] as const) {
      expect(parsePidf(buildPidf('sip:a@b', show, 'note <&>'))).toEqual({ show, status: 'note <&>' });
    }
    expect(parsePidf('<p:presence xmlns:p="urn:ietf:params:xml:ns:pidf"><p:tuple><p:status><p:basic>open</p:basic></p:status></p:tuple><rpid:activities><rpid:on-the-phone/></rpid:activities></p:presence>')).toEqual({ show: 'dnd' });
    expect(parsePidf('not xml')).toBeUndefined();
  });

  it('is-composing round trip', () => {
    expect(parseIsComposing(buildIsComposing(true))).toBe('active');
    expect(parseIsComposing(buildIsComposing(false))).toBe('idle');
    expect(parseIsComposing('<isComposing><state>typing</state></isComposing>')).toBeUndefined();
  });

  it('maps SIP failures to the error catalogue', () => {
    expect(errorForResponse(404, 'Not Found')).toMatchObject({ code: 'RECIPIENT_UNKNOWN', retryable: false });
    expect(errorForResponse(480, 'Temporarily Unavailable', '30')).toMatchObject({ code: 'RECIPIENT_UNAVAILABLE', retryable: true, retryAfterMs: 30_000 });
    expect(errorForResponse(408, 'Timeout')).toMatchObject({ code: 'DELIVERY_TIMEOUT', retryable: true });
    expect(errorForResponse(603, 'Decline')).toMatchObject({ code: 'DELIVERY_REJECTED', retryable: false });
    expect(errorForResponse(503, 'Busy')).toMatchObject({ code: 'DELIVERY_UNAVAILABLE', retryable: true });
  });
});
