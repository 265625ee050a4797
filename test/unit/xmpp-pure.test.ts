import xml from '@xmpp/xml';
import { describe, expect, it } from 'vitest';
import { envelopeId, ownRef, parseJid, resolveRef, stanzaRef } from '../../src/connectors/xmpp/addressing.ts';
import { translateMessage } from '../../src/connectors/xmpp/inbound-message.ts';
import { PresenceCoalescer } from '../../src/connectors/xmpp/presence-coalescer.ts';
import { DomainRateLimit } from '../../src/connectors/xmpp/rate-limit.ts';
import { ReturnPaths } from '../../src/connectors/xmpp/return-paths.ts';
import { parseStyling, renderStyling } from '../../src/connectors/xmpp/styling.ts';
import type { Envelope } from '../../src/core/envelope.ts';
import { envelopeSchema } from '../../src/core/envelope.ts';

const A = { domain: 'parley.local', localPlatform: 'teams' as const };

describe('XEP-0393 styling', () => {
  it('parses spans, blocks, quotes and links, and renders them back', () => {
    const text = 'a *b* _c_ ~d~ `e *f*`\n> q1\n> q2\n```js\ncode *x*\n```\nhttps://x.example/p?q=1.';
    const rt = parseStyling(text);
    expect(rt.blocks.map((b) => b.t)).toEqual(['p', 'quote', 'pre', 'p']);
    expect(rt.blocks[0]).toEqual({
      t: 'p',
      c: [
        { t: 'text', v: 'a ' }, { t: 'text', v: 'b', marks: ['bold'] }, { t: 'text', v: ' ' }, { t: 'text', v: 'c', marks: ['italic'] },
        { t: 'text', v: ' ' }, { t: 'text', v: 'd', marks: ['strike'] }, { t: 'text', v: ' ' }, { t: 'text', v: 'e *f*', marks: ['code'] },
      ],
    });
    expect(rt.blocks[2]).toEqual({ t: 'pre', v: 'code *x*', lang: 'js' });
    expect(rt.blocks[3]).toMatchObject({ c: [{ t: 'link', href: 'https://x.example/p?q=1' }, { t: 'text', v: '.' }] });
    expect(renderStyling(rt)).toBe('a *b* _c_ ~d~ `e *f*`\n\n> q1\n> q2\n\n```js\ncode *x*\n```\n\nhttps://x.example/p?q=1.');
    expect(envelopeSchema.safeParse({ type: 'im', id: 'i', ts: 0, from: { platform: 'xmpp', id: 'a@b.c', domain: 'b.c' }, to: { platform: 'teams', id: 'x@parley.local', domain: 'parley.local' }, body: rt }).success).toBe(true);
  });

  it('leaves unmatched or spaced directives as text', () => {
    expect(parseStyling('2 * 3 * 4 and *open').blocks[0]).toEqual({ t: 'p', c: [{ t: 'text', v: '2 * 3 * 4 and *open' }] });
    expect(parseStyling('snake_case_name').blocks[0]).toEqual({ t: 'p', c: [{ t: 'text', v: 'snake_case_name' }] });
  });

  it('does not let hostile input grow without bound', () => {
    const rt = parseStyling('*a* '.repeat(20_000));
    expect(JSON.stringify(rt).length).toBeLessThan(2_000_000);
    expect(envelopeSchema.safeParse({ type: 'im', id: 'i', ts: 0, from: { platform: 'xmpp', id: 'a@b.c', domain: 'b.c' }, to: { platform: 'teams', id: 'x@parley.local', domain: 'parley.local' }, body: rt }).success).toBe(true);
  });
});

describe('XMPP addressing', () => {
  it('parses JIDs, lowercases domains and refuses garbage', () => {
    expect(parseJid('Bob@Partner.Example/Res')).toMatchObject({ bare: 'bob@partner.example', domain: 'partner.example', resource: 'Res' });
    expect(parseJid('partner.example')).toMatchObject({ bare: 'partner.example', local: '' });
    expect(parseJid('a@b@c')).toBeUndefined();
    expect(parseJid(undefined)).toBeUndefined();
    expect(parseJid('x'.repeat(4000))).toBeUndefined();
  });

  it('maps ids both ways and bounds their length', () => {
    expect(envelopeId('bob@p.example', 'S1')).toBe('x:bob@p.example/S1');
    expect(stanzaRef('x:bob@p.example/S1', 'bob@p.example')).toBe('S1');
    expect(stanzaRef('teams-1', 'bob@p.example')).toBe('parley:teams-1');
    expect(resolveRef('parley:teams-1', 'bob@p.example')).toBe('teams-1');
    expect(resolveRef('S2', 'bob@p.example')).toBe('x:bob@p.example/S2');
    expect(stanzaRef('x:bob@p.example/S1', 'carol@p.example')).toBe('parley:x:bob@p.example/S1');
    expect(ownRef('bob@p.example', 'S1')).toBe('x:bob@p.example/S1');
    expect(envelopeId('bob@p.example', 'y'.repeat(400)).length).toBeLessThanOrEqual(256);
  });
});

describe('inbound message translation', () => {
  const msg = (...children: ReturnType<typeof xml>[]) => xml('message', { from: 'bob@p.example/r', to: 'alice@parley.local', type: 'chat', id: 'm1' }, ...children);

  it('prefers a receipt, then reactions, retraction, correction, file, body, chat state', () => {
    expect(translateMessage(msg(xml('received', { xmlns: 'urn:xmpp:receipts', id: 'parley:E' }), xml('body', {}, 'x')), A, 1)).toMatchObject({ kind: 'envelopes', envs: [{ type: 'receipt', target: 'E' }] });
    expect(translateMessage(msg(xml('composing', { xmlns: 'http://jabber.org/protocol/chatstates' })), A, 1)).toMatchObject({ envs: [{ type: 'typing', state: 'composing' }] });
    expect(translateMessage(msg(xml('body', {}, 'hi'), xml('composing', { xmlns: 'http://jabber.org/protocol/chatstates' })), A, 1)).toMatchObject({ envs: [{ type: 'im' }] });
    expect(translateMessage(msg(xml('x', { xmlns: 'jabber:x:oob' }, xml('url', {}, 'javascript:alert(1)')), xml('body', {}, 'j')), A, 1)).toMatchObject({ envs: [{ type: 'im' }] });
  });

  it('refuses messages for the bare component domain and groupchat, ignores messages from the own domain', () => {
    expect(translateMessage(xml('message', { from: 'bob@p.example/r', to: 'parley.local', type: 'chat' }, xml('body', {}, 'x')), A, 1).kind).toBe('reject');
    expect(translateMessage(xml('message', { from: 'bob@p.example/r', to: 'alice@parley.local', type: 'groupchat' }, xml('body', {}, 'x')), A, 1).kind).toBe('reject');
    expect(translateMessage(xml('message', { from: 'eve@parley.local', to: 'alice@parley.local' }, xml('body', {}, 'x')), A, 1).kind).toBe('ignore');
  });

  it('turns a stanza error into an error envelope with a Parley code', () => {
    const err = xml('message', { from: 'bob@p.example', to: 'alice@parley.local', type: 'error', id: 'parley:E1' }, xml('error', { type: 'cancel' }, xml('item-not-found', { xmlns: 'urn:ietf:params:xml:ns:xmpp-stanzas' })));
    expect(translateMessage(err, A, 1)).toMatchObject({ envs: [{ type: 'error', code: 'RECIPIENT_UNKNOWN', target: 'E1' }] });
  });
});

describe('presence coalescing', () => {
  const p = (from: string, show: Extract<Envelope, { type: 'presence' }>['show'], ts: number): Extract<Envelope, { type: 'presence' }> => ({
    type: 'presence', id: `p${ts}`, ts, show, from: { platform: 'xmpp', id: from, domain: 'p.example' }, to: { platform: 'teams', id: 'alice@parley.local', domain: 'parley.local' },
  });

  it('folds resources (most available wins), forwards only changes, forgets pairs that went offline', () => {
    const out: string[] = [];
    const c = new PresenceCoalescer(1_000_000, 100, (envs) => out.push(...envs.map((e) => `${e.from.id}:${e.show}`)));
    c.offer(p('bob@p.example', 'away', 1), 'phone');
    c.offer(p('bob@p.example', 'available', 2), 'laptop');
    c.flush();
    expect(out).toEqual(['bob@p.example:available']);
    c.offer(p('bob@p.example', 'available', 3), 'laptop');
    c.flush();
    expect(out).toHaveLength(1); // no change, nothing forwarded
    c.offer(p('bob@p.example', 'offline', 4), 'laptop');
    c.flush();
    expect(out[1]).toBe('bob@p.example:away'); // the phone is still away
    c.offer(p('bob@p.example', 'offline', 5), 'phone');
    c.flush();
    expect(out[2]).toBe('bob@p.example:offline');
    expect(c.size).toBe(0);
  });

  it('flushes early when the number of pairs reaches its bound', () => {
    let flushed = 0;
    const c = new PresenceCoalescer(1_000_000, 100, (envs) => (flushed += envs.length));
    for (let i = 0; i < 250; i++) c.offer(p(`u${i}@p.example`, 'available', i), 'r');
    expect(flushed).toBeGreaterThanOrEqual(200);
    c.stop();
  });
});

describe('rate limit and return paths', () => {
  it('lets a burst through, then refills at the rate', () => {
    const r = new DomainRateLimit(10, 5);
    const t0 = 1_000_000;
    expect(Array.from({ length: 7 }, () => r.take('d', t0)).filter(Boolean)).toHaveLength(5);
    expect(r.take('d', t0 + 100)).toBe(true);
    expect(r.take('d', t0 + 100)).toBe(false);
    expect(r.take('other', t0)).toBe(true);
  });

  it('remembers full JIDs, bounded and with a lifetime', () => {
    const rp = new ReturnPaths(2, 1000);
    rp.remember('a', 'bob@p/r1', 0);
    rp.remember('b', 'bob@p', 0); // bare: nothing to remember
    rp.remember('c', 'carol@p/r', 0);
    rp.remember('d', 'dave@p/r', 0);
    expect(rp.lookup('a', 1)).toBeUndefined(); // evicted
    expect(rp.lookup('b', 1)).toBeUndefined();
    expect(rp.lookup('c', 1)).toBe('carol@p/r');
    expect(rp.lookup('d', 2000)).toBeUndefined(); // expired
  });
});
