import { Core } from 'sip.js';
import { describe, expect, it } from 'vitest';
import { FastMessagePath } from '../../src/connectors/sip/fast-message.ts';
import { Grammar } from 'sip.js';
import { installCachedGrammar, useStockGrammar } from '../../src/connectors/sip/grammar.ts';
import type { InboundRequest, Reply } from '../../src/connectors/sip/inbound.ts';

/**
 * The fast path for plain MESSAGEs against sip.js itself: what it takes it
 * reads as sip.js reads it, answers as sip.js answers, keeps the transaction
 * rules, and gives everything else to sip.js. (The real edge path is covered
 * by im.test.ts and resilience.test.ts, which run through it.)
 */
const VIA = 'SIP/2.0/WS 127.0.0.1:39781;branch=z9hG4bK1b19.c13442c311a81db0239517ac6016f2a2.0';

function request(o: { via?: string; from?: string; to?: string; callId?: string; cseq?: string; ruri?: string; body?: string; extra?: string[]; cl?: number } = {}): string {
  const body = o.body ?? 'hello there';
  return [
    `MESSAGE ${o.ruri ?? 'sip:k3l2@df7jal23ls0d.invalid;transport=ws'} SIP/2.0`,
    'Record-Route: <sip:127.0.0.1:5060;lr>',
    `Via: ${o.via ?? VIA}`,
    'Via: SIP/2.0/UDP 127.0.0.1:5070;rport=5070;branch=z9hG4bK-1-0',
    'Max-Forwards: 69',
    `From: ${o.from ?? '"Bob B" <sip:bob@partner.example>;tag=42t1'}`,
    `To: ${o.to ?? '<sip:user1@parley.local>'}`,
    `Call-ID: ${o.callId ?? '1-4242@127.0.0.1'}`,
    `CSeq: ${o.cseq ?? '1 MESSAGE'}`,
    'Content-Type: text/plain;charset=UTF-8',
    ...(o.extra ?? []),
    `Content-Length: ${o.cl ?? Buffer.byteLength(body, 'latin1')}`,
    '',
    body,
  ].join('\r\n');
}

function harness() {
  const sent: string[] = [];
  const taken: Array<{ req: InboundRequest; reply: Reply }> = [];
  const fast = new FastMessagePath({
    ruriUsers: () => ['parley', 'k3l2'],
    localDomains: new Set(['parley.local']),
    responseHeaders: () => 'Supported: outbound\r\nUser-Agent: Parley\r\n',
    send: async (r) => void sent.push(r),
    handle: (req, reply) => void taken.push({ req, reply }),
  });
  return { fast, sent, taken };
}

const logger = { error: () => undefined, warn: () => undefined, log: () => undefined, debug: () => undefined } as unknown as Core.Logger;
const parse = (s: string) => Core.Parser.parseMessage(s, logger);

describe('fast path for plain MESSAGE', () => {
  installCachedGrammar();

  it('reads a request as sip.js does and answers as sip.js does', () => {
    const h = harness();
    const text = request({ body: 'caf\xc3\xa9 \xe2\x9c\x93' });
    expect(h.fast.take(text)).toBe(true);
    const m = parse(text) as Core.IncomingRequestMessage;
    const got = h.taken[0]?.req;
    expect(got).toEqual({
      method: m.method,
      callId: m.callId,
      cseq: m.cseq,
      fromTag: m.fromTag,
      from: { user: m.from.uri.user, host: m.from.uri.host, displayName: m.from.displayName },
      to: { user: m.to.uri.user, host: m.to.uri.host, displayName: '' },
      body: m.body,
      contentType: m.getHeader('content-type'),
    });
    expect(h.sent).toEqual([]);
    h.taken[0]?.reply(200, 'OK');
    h.taken[0]?.reply(500, 'again'); // a second final answer is discarded, as by the transaction
    expect(h.sent).toHaveLength(1);
    const res = parse(h.sent[0] ?? '') as Core.IncomingResponseMessage;
    expect(res.statusCode).toBe(200);
    expect(res.getHeaders('via')).toEqual(m.getHeaders('via'));
    expect(res.getHeader('from')).toBe(m.getHeader('from'));
    expect(res.to.uri.toString()).toBe(m.to.uri.toString());
    expect(res.toTag).toMatch(/^[a-z0-9]+$/);
    expect(res.callId).toBe(m.callId);
    expect(res.getHeader('cseq')).toBe('1 MESSAGE');
    expect(res.getHeader('content-length')).toBe('0');
    expect(res.getHeader('user-agent')).toBe('Parley');
    expect(res.body).toBe('');
  });

  it('echoes the request header bytes untouched (a UTF-8 display name stays the same bytes)', () => {
    const h = harness();
    const from = '"Jos\xc3\xa9 \xe2\x9c\x93" <sip:jose@partner.example>;tag=9';
    expect(h.fast.take(request({ from }))).toBe(true);
    expect(h.taken[0]?.req.from.displayName).toBe('Jos\xc3\xa9 \xe2\x9c\x93');
    h.taken[0]?.reply(200, 'OK');
    expect(h.sent[0]).toContain(`\r\nFrom: ${from}\r\n`);
  });

  it('refusals carry their extra headers', () => {
    const h = harness();
    h.fast.take(request());
    h.taken[0]?.reply(415, 'Unsupported Media Type', ['Accept: text/plain, text/html']);
    const res = parse(h.sent[0] ?? '') as Core.IncomingResponseMessage;
    expect(res.statusCode).toBe(415);
    expect(res.getHeader('accept')).toBe('text/plain, text/html');
  });

  it('keeps the transaction rules: a retransmission in progress is absorbed, a merged request gets 482, an answered one starts anew', () => {
    const h = harness();
    const text = request();
    expect(h.fast.take(text)).toBe(true);
    expect(h.fast.take(text)).toBe(true);
    expect(h.taken).toHaveLength(1);
    expect(h.sent).toHaveLength(0);
    // Same From tag, Call-ID and CSeq on another branch: the same request by another path.
    expect(h.fast.take(request({ via: 'SIP/2.0/WS 127.0.0.1:39781;branch=z9hG4bKother' }))).toBe(true);
    expect(h.taken).toHaveLength(1);
    expect((parse(h.sent[0] ?? '') as Core.IncomingResponseMessage).statusCode).toBe(482);
    h.taken[0]?.reply(200, 'OK');
    expect(h.fast.take(text)).toBe(true);
    expect(h.taken).toHaveLength(2);
  });

  it('gives sip.js everything that is not plainly this shape', () => {
    const h = harness();
    const others = [
      request({ to: '<sip:user1@parley.local>;tag=abc' }),
      request({ from: '"J \\"R\\"" <sip:bob@partner.example>;tag=1' }),
      request({ from: '<sip:bob@partner.example>' }),
      request({ from: '<sip:bob@Partner.example>;tag=1' }),
      request({ from: '<sip:alice@parley.local>;tag=1' }),
      request({ to: '<sip:user1@elsewhere.example>' }),
      request({ ruri: 'sip:someone@df7jal23ls0d.invalid' }),
      request({ cseq: '1 INVITE' }),
      request({ cl: 4 }),
      request({ cl: 999 }),
      request({ via: 'SIP/2.0/WS 127.0.0.1:39781;branch=z9hG4bK1;rport' }),
      request({ via: 'SIP/2.0/WS example.com;branch=z9hG4bK1' }),
      request({ extra: ['Subject: a', ' folded'] }),
      request({ extra: ['Call-ID: second@x'] }),
      request().replace('MESSAGE sip:', 'INVITE sip:'),
      request().replace(/\r\n/g, '\n'),
      request().replace('Content-Length: 11', 'Content-Type: text/plain'),
    ];
    for (const o of others) expect(h.fast.take(o), o.split('\r\n').slice(0, 9).join(' | ')).toBe(false);
    expect(h.taken).toHaveLength(0);
    expect(h.sent).toHaveLength(0);
  });

  it('the cached grammar reads the top Via as the stock parser does', () => {
    const vias = [VIA, 'SIP/2.0/WS  127.0.0.1:39781;branch=z9hG4bKb103.9e.0', 'SIP/2.0/UDP 10.0.0.255;branch=z9hG4bK-x', 'SIP/2.0/WS 127.0.0.1:5060;branch=a;rport', 'SIP/2.0/ws 127.0.0.1;branch=z', 'SIP/2.0/WS 300.1.1.1;branch=z'];
    useStockGrammar();
    const stock = vias.map((v) => JSON.stringify(Grammar.parse(v, 'Via')));
    expect(installCachedGrammar().ok).toBe(true);
    expect(vias.map((v) => JSON.stringify(Grammar.parse(v, 'Via')))).toEqual(stock);
  });

  it('takes nothing while the user agent is not running', () => {
    const sent: string[] = [];
    const fast = new FastMessagePath({
      ruriUsers: () => ['k3l2'],
      localDomains: new Set(['parley.local']),
      responseHeaders: () => undefined,
      send: async (r) => void sent.push(r),
      handle: () => undefined,
    });
    expect(fast.take(request())).toBe(false);
  });
});
