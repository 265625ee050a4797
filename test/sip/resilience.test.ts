import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { until } from '../support/hub.ts';
import { messageRequest, sendMessage, sendUdp } from '../support/sip.ts';
import { useSipEnv } from '../support/sip-env.ts';

describe('SIP edge restarts and hostile input', () => {
  const ctx = useSipEnv();
  const imsTo = (id: string) => ctx.t.loopback.delivered.filter((d) => d.env.to.id === id && d.env.type === 'im').map((d) => d.env);

  it('Kamailio restarted mid-run: Parley reconnects and re-registers, and every message answered 200 OK is delivered', async () => {
    const acked: string[] = [];
    const refused: number[] = [];
    let restarted = false;
    const sender = (async () => {
      for (let i = 0; i < 40; i++) {
        const text = `restart-${i}`;
        const r = await sendUdp(ctx.edge, messageRequest({ from: 'gina@partner.example', to: 'user20@parley.local', body: text }), 2_000);
        if (r.status === 200) acked.push(text);
        else refused.push(r.status);
        await new Promise((res) => setTimeout(res, 50));
      }
    })();
    await until(() => acked.length >= 10, 10_000, 'first messages');
    await ctx.edge.restart();
    restarted = true;
    await sender;
    expect(restarted).toBe(true);
    // Some were refused (480 while Parley was not registered, or no answer while the edge was down); none acknowledged was lost.
    await until(() => ctx.sip.status().state === 'up', 15_000, 'sip connector up again');
    expect(ctx.sip.stats().reconnects).toBeGreaterThanOrEqual(1);
    expect(ctx.sip.counters().reconnects).toBe(ctx.sip.stats().reconnects);
    expect(ctx.sip.counters()['inbound_accepted:200']).toBeGreaterThan(0);
    const after = await sendMessage(ctx.edge, { from: 'gina@partner.example', to: 'user20@parley.local', body: 'after-restart' });
    expect(after.status).toBe(200);
    acked.push('after-restart');
    await until(() => imsTo('user20@parley.local').length >= acked.length, 10_000, 'all acknowledged messages delivered');
    const texts = new Set(imsTo('user20@parley.local').map((e) => (e.type === 'im' && e.body.blocks[0]?.t === 'p' && e.body.blocks[0].c[0]?.t === 'text' ? e.body.blocks[0].c[0].v : '')));
    for (const a of acked) expect(texts.has(a), `acknowledged ${a} delivered`).toBe(true);
    expect(acked.length).toBeGreaterThan(10);
  });

  it('torture and fuzz: malformed requests get an error response or are dropped, and Parley keeps working', async () => {
    const base = (extra: Partial<Parameters<typeof messageRequest>[0]> = {}) =>
      messageRequest({ from: 'hal@partner.example', to: 'user21@parley.local', body: 'x', ...extra });
    const torture: Buffer[] = [
      // RFC 4475-style: escaped and odd but valid forms
      Buffer.from(base().toString('latin1').replace('From: <sip:hal@partner.example>', 'From: "J Rosenberg \\\\\\"" <sip:hal@partner.example>'), 'latin1'),
      Buffer.from(base().toString('latin1').replace('Max-Forwards: 70', 'Max-Forwards: 70\r\nNewFangledHeader:   newfangled value\r\n continued newfangled value\r\nUnknownHeaderWithUnusualValue: ;;,,;;,;'), 'latin1'),
      // content-length larger than the body, negative, huge
      Buffer.from(base().toString('latin1').replace(/Content-Length: \d+/, 'Content-Length: 9999'), 'latin1'),
      Buffer.from(base().toString('latin1').replace(/Content-Length: \d+/, 'Content-Length: -5'), 'latin1'),
      Buffer.from(base().toString('latin1').replace(/Content-Length: \d+/, 'Content-Length: 99999999999999999999'), 'latin1'),
      // broken From / To / CSeq / request line
      Buffer.from(base().toString('latin1').replace('From: <sip:hal@partner.example>', 'From: <sip:hal@@partner..example'), 'latin1'),
      Buffer.from(base().toString('latin1').replace('CSeq: 1 MESSAGE', 'CSeq: 1 INVITE'), 'latin1'),
      Buffer.from(base().toString('latin1').replace('CSeq: 1 MESSAGE', 'CSeq: 99999999999999999999 MESSAGE'), 'latin1'),
      Buffer.from(base().toString('latin1').replace('MESSAGE sip:user21@parley.local SIP/2.0', 'MESSAGE sip:user21@parley.local SIP/7.0'), 'latin1'),
      Buffer.from(base().toString('latin1').replace(/\r\n/g, '\n'), 'latin1'),
      // bodies: invalid UTF-8, NULs, deep and broken HTML, entities, bogus charset, broken is-composing and PIDF
      base({ body: Buffer.from([0xff, 0xfe, 0x00, 0xc3, 0x28, 0xa0, 0xa1, 0xe2, 0x28, 0xa1]) }),
      base({ body: '<b>'.repeat(5000) + 'deep' + '</i>'.repeat(3000), contentType: 'text/html' }),
      base({ body: '&#0; &#xD800; &#x110000; &bogus; <a href="javascript:alert(1)">x</a><a href=\'sip:ok@x\'>ok</a>', contentType: 'text/html' }),
      base({ body: 'hello', contentType: 'text/plain;charset=x-no-such-charset' }),
      base({ body: '<isComposing><state>maybe</state>', contentType: 'application/im-iscomposing+xml' }),
      base({ body: '', contentType: 'text/plain' }),
      // an oversized body just under the UDP limit
      base({ body: randomBytes(60_000).toString('base64').slice(0, 60_000) }),
    ];
    for (let i = 0; i < 30; i++) torture.push(base({ body: randomBytes(1 + Math.floor(Math.random() * 2000)), contentType: i % 2 ? 'text/html;charset=UTF-8' : 'text/plain' }));
    const statuses: number[] = [];
    for (const t of torture) statuses.push((await sendUdp(ctx.edge, t, 1_500)).status);
    // Each got a final answer or was dropped (0); none made Parley answer 5xx for its own failure.
    for (const s of statuses) expect(s === 0 || (s >= 200 && s < 700)).toBe(true);
    expect(statuses.filter((s) => s === 500)).toEqual([]);
    expect(statuses.some((s) => s === 400 || s === 413 || s === 0)).toBe(true);
    // Still connected, still answering.
    expect(ctx.sip.status().state).toBe('up');
    const ok = await sendMessage(ctx.edge, { from: 'hal@partner.example', to: 'user22@parley.local', body: 'still alive' });
    expect(ok.status).toBe(200);
    await until(() => imsTo('user22@parley.local').length === 1, 5_000, 'delivery after torture');
  });
});
