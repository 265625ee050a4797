import { describe, expect, it } from 'vitest';
import type { Envelope } from '../../src/core/envelope.ts';
import { teamsUser, until } from '../support/hub.ts';
import { messageRequest, registerUser, sendMessage, sendRaw, sendUdp, sippAnswer, Sipp } from '../support/sip.ts';
import { sipUser, useSipEnv } from '../support/sip-env.ts';

const textOf = (env: Envelope | undefined): string =>
  env && env.type === 'im' ? env.body.blocks.map((b) => (b.t === 'p' || b.t === 'quote' ? b.c.map((n) => ('v' in n ? n.v : '\n')).join('') : '')).join('\n') : '';

describe('SIP IM through a real Kamailio', () => {
  const ctx = useSipEnv({ runtime: { shards: 2 }, federation: { domains: [{ domain: 'blocked.example', action: 'block' }] } });
  const deliveredTo = (id: string) => ctx.t.loopback.delivered.filter((d) => d.env.to.id === id).map((d) => d.env);

  it('a SIP user sends plain text to a Teams user: 200 OK after the durable ingest, an im envelope on the Teams side', async () => {
    const before = ctx.sip.stats().fastPath;
    const r = await sendMessage(ctx.edge, { from: 'bob@partner.example', to: 'user1@parley.local', body: 'hello from SIP' });
    expect(r.status).toBe(200);
    // The plain MESSAGE as the real edge forwards it took the fast path (fast-message.ts), not sip.js.
    expect(ctx.sip.stats().fastPath).toBe(before + 1);
    // The 200 came after ingest resolved: the envelope is already on its way (fast path), no waiting for a retry.
    await until(() => deliveredTo('user1@parley.local').length === 1, 5_000, 'delivery to user1');
    const env = deliveredTo('user1@parley.local')[0];
    expect(env?.type).toBe('im');
    expect(env?.from).toMatchObject(sipUser('bob'));
    expect(textOf(env)).toBe('hello from SIP');
  });

  it('text/html in ISO-8859-1 becomes rich text with the right characters', async () => {
    const body = Buffer.from('<p><b>Caf\xe9</b> at <a href="https://example.com/x">noon</a><script>alert(1)</script></p>', 'latin1');
    const r = await sendMessage(ctx.edge, { from: 'bob@partner.example', to: 'user2@parley.local', body, contentType: 'text/html;charset=ISO-8859-1' });
    expect(r.status).toBe(200);
    await until(() => deliveredTo('user2@parley.local').length === 1, 5_000, 'delivery to user2');
    const env = deliveredTo('user2@parley.local')[0];
    expect(env?.type === 'im' && env.body).toEqual({
      blocks: [{ t: 'p', c: [{ t: 'text', v: 'Café', marks: ['bold'] }, { t: 'text', v: ' at ' }, { t: 'link', href: 'https://example.com/x', v: 'noon' }] }],
    });
  });

  it('a Teams user sends rich text to a SIP user: the SIP user gets a text/html MESSAGE in UTF-8', async () => {
    const carol = await Sipp.create();
    try {
      carol.start(`<recv request="MESSAGE"/>${sippAnswer(200, 'OK')}`, ['-m', '1']);
      registerUser(ctx.edge, 'carol', 'partner.example', carol.port);
      const ack = await ctx.t.hub.ingest({
        type: 'im', id: 'out-1', ts: Date.now(), from: teamsUser(3), to: sipUser('carol'),
        body: { blocks: [{ t: 'p', c: [{ t: 'text', v: 'Grüße ', marks: ['bold'] }, { t: 'text', v: '🙂' }] }] },
      });
      expect(ack.outcome).toBe('accepted');
      expect(await carol.wait(15_000)).toBe(0);
      const log = Buffer.from(carol.messages(), 'latin1').toString('utf8');
      expect(log).toMatch(/MESSAGE sip:carol@/);
      expect(log).toMatch(/Content-Type: text\/html;charset=UTF-8/i);
      expect(log).toContain('<p><b>Grüße </b>🙂</p>');
      expect(log).toMatch(/From: <sip:user3@parley\.local>/);
      await until(() => ctx.t.sink.events.some((e) => e.messageId === 'out-1' && e.outcome === 'delivered'), 5_000, 'delivered metadata');
    } finally {
      await carol.stop();
    }
  });

  it('a message to a SIP user nobody registered comes back to the Teams user as RECIPIENT_UNKNOWN', async () => {
    await ctx.t.hub.ingest({ type: 'im', id: 'out-404', ts: Date.now(), from: teamsUser(4), to: sipUser('nobody'), body: { blocks: [{ t: 'p', c: [{ t: 'text', v: 'anyone?' }] }] } });
    await until(() => deliveredTo('user4@parley.local').some((e) => e.type === 'error'), 10_000, 'error envelope');
    const err = deliveredTo('user4@parley.local').find((e) => e.type === 'error');
    expect(err).toMatchObject({ type: 'error', code: 'RECIPIENT_UNKNOWN', target: 'out-404' });
  });

  it('a blocked domain gets 403 Forbidden and leaves a blocked metadata row, and nothing reaches Teams', async () => {
    const before = ctx.t.loopback.delivered.length;
    const r = await sendMessage(ctx.edge, { from: 'mallory@blocked.example', to: 'user5@parley.local', body: 'let me in' });
    expect(r.status).toBe(403);
    const row = ctx.t.sink.events.find((e) => e.senderDomain === 'blocked.example');
    expect(row).toMatchObject({ outcome: 'blocked', reason: 'POLICY_DOMAIN_BLOCKED', type: 'im', direction: 'inbound', receiver: 'user5@parley.local' });
    await new Promise((res) => setTimeout(res, 300));
    expect(ctx.t.loopback.delivered.slice(before).some((d) => d.env.to.id === 'user5@parley.local')).toBe(false);
  });

  it('typing both ways: is-composing in becomes typing, typing out becomes is-composing', async () => {
    const isComposing = '<?xml version="1.0"?><isComposing xmlns="urn:ietf:params:xml:ns:im-iscomposing"><state>active</state><refresh>60</refresh></isComposing>';
    const r = await sendMessage(ctx.edge, { from: 'bob@partner.example', to: 'user6@parley.local', body: isComposing, contentType: 'application/im-iscomposing+xml' });
    expect(r.status).toBe(200);
    await until(() => deliveredTo('user6@parley.local').length === 1, 5_000, 'typing to user6');
    expect(deliveredTo('user6@parley.local')[0]).toMatchObject({ type: 'typing', state: 'composing', from: sipUser('bob') });

    const dan = await Sipp.create();
    try {
      dan.start(`<recv request="MESSAGE"/>${sippAnswer(200, 'OK')}`, ['-m', '1']);
      registerUser(ctx.edge, 'dan', 'partner.example', dan.port);
      await ctx.t.hub.ingest({ type: 'typing', id: 'typing-out', ts: Date.now(), from: teamsUser(6), to: sipUser('dan'), state: 'composing' });
      expect(await dan.wait(15_000)).toBe(0);
      const log = dan.messages();
      expect(log).toMatch(/Content-Type: application\/im-iscomposing\+xml/i);
      expect(log).toContain('<state>active</state>');
    } finally {
      await dan.stop();
    }
  });

  it('refuses what cannot be a message: oversized body 413, unknown content type 415, and the same request twice is one envelope', async () => {
    const big = await sendUdp(ctx.edge, messageRequest({ from: 'bob@partner.example', to: 'user7@parley.local', body: 'x'.repeat(40 * 1024) }));
    expect(big.status).toBe(413);
    const odd = await sendMessage(ctx.edge, { from: 'bob@partner.example', to: 'user7@parley.local', body: 'GIF89a', contentType: 'image/gif' });
    expect(odd.status).toBe(415);
    const req = messageRequest({ from: 'bob@partner.example', to: 'user7@parley.local', body: 'once', callId: 'dup-call@test' });
    expect((await sendRaw(ctx.edge, req, 'user7@parley.local')).status).toBe(200);
    expect((await sendRaw(ctx.edge, req, 'user7@parley.local')).status).toBe(200);
    await new Promise((res) => setTimeout(res, 500));
    expect(deliveredTo('user7@parley.local').filter((e) => e.type === 'im')).toHaveLength(1);
  });
});
