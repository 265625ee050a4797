import { describe, expect, it } from 'vitest';
import { teamsUser, until } from '../support/hub.ts';
import { acceptingWatcherTarget, registerUser, sendRaw, sippAnswer, Sipp } from '../support/sip.ts';
import { sipUser, useSipEnv } from '../support/sip-env.ts';

describe('SIP presence and contact requests through a real Kamailio', () => {
  const ctx = useSipEnv();
  const deliveredTo = (id: string) => ctx.t.loopback.delivered.filter((d) => d.env.to.id === id).map((d) => d.env);

  it('a contact request accepted by the SIP user: accepted comes back, its presence flows to Teams, and Teams presence flows to it', async () => {
    const dave = await Sipp.create();
    const watcher = await Sipp.create();
    try {
      dave.start(acceptingWatcherTarget('dave'), ['-m', '1']);
      registerUser(ctx.edge, 'dave', 'partner.example', dave.port);
      const ack = await ctx.t.hub.ingest({ type: 'contact-request', id: 'cr-dave', ts: Date.now(), from: teamsUser(10), to: sipUser('dave') });
      expect(ack.outcome).toBe('accepted');
      await until(() => deliveredTo('user10@parley.local').some((e) => e.type === 'presence'), 10_000, 'presence of dave');
      const got = deliveredTo('user10@parley.local');
      expect(got.find((e) => e.type === 'contact-response')).toMatchObject({ decision: 'accepted', from: sipUser('dave') });
      expect(got.find((e) => e.type === 'presence')).toMatchObject({ show: 'away', status: 'Back at 3', from: sipUser('dave') });
      const log = dave.messages();
      expect(log).toMatch(/SUBSCRIBE sip:dave@/);
      expect(log).toMatch(/Event: presence/);

      // The Teams user's presence: PUBLISHed to the edge, whose presence server notifies dave.
      await ctx.t.hub.ingest({ type: 'presence', id: 'pres-10', ts: Date.now(), from: teamsUser(10), to: sipUser('dave'), show: 'dnd', status: 'In a meeting' });
      await until(() => ctx.t.sink.events.some((e) => e.messageId === 'pres-10' && e.outcome === 'delivered'), 10_000, 'PUBLISH done');
      watcher.start(`
  <send retrans="500"><![CDATA[
SUBSCRIBE sip:user10@parley.local SIP/2.0
Via: SIP/2.0/UDP [local_ip]:[local_port];branch=[branch]
From: <sip:dave@partner.example>;tag=[pid]w[call_number]
To: <sip:user10@parley.local>
Call-ID: [call_id]
CSeq: 1 SUBSCRIBE
Max-Forwards: 70
Contact: <sip:dave@[local_ip]:[local_port]>
Event: presence
Accept: application/pidf+xml
Expires: 600
Content-Length: 0

]]></send>
  <recv response="202" optional="true"/>
  <recv response="200"/>
  <recv request="NOTIFY"/>
  ${sippAnswer(200, 'OK')}`, ['-m', '1', ctx.edge.udpTarget]);
      expect(await watcher.wait(15_000)).toBe(0);
      const notify = watcher.messages();
      expect(notify).toMatch(/NOTIFY sip:dave@/);
      expect(notify).toMatch(/<basic>open<\/basic>/);
      expect(notify).toMatch(/<note>In a meeting<\/note>/);
      expect(notify).toMatch(/busy/);
    } finally {
      await dave.stop();
      await watcher.stop();
    }
  });

  it('a contact request declined by the SIP user (603) comes back to Teams as declined', async () => {
    const eve = await Sipp.create();
    try {
      eve.start(`<recv request="SUBSCRIBE"/>${sippAnswer(603, 'Decline')}`, ['-m', '1']);
      registerUser(ctx.edge, 'eve', 'partner.example', eve.port);
      await ctx.t.hub.ingest({ type: 'contact-request', id: 'cr-eve', ts: Date.now(), from: teamsUser(11), to: sipUser('eve') });
      await until(() => deliveredTo('user11@parley.local').some((e) => e.type === 'contact-response'), 10_000, 'answer from eve');
      expect(deliveredTo('user11@parley.local').find((e) => e.type === 'contact-response')).toMatchObject({ decision: 'declined', from: sipUser('eve') });
      expect(deliveredTo('user11@parley.local').some((e) => e.type === 'presence')).toBe(false);
    } finally {
      await eve.stop();
    }
  });

  it('a SIP user asks a Teams user (SUBSCRIBE): contact request to Teams; once accepted, the edge serves the presence itself', async () => {
    const subscribe = (n: number): Buffer =>
      Buffer.from(
        [
          'SUBSCRIBE sip:user12@parley.local SIP/2.0',
          'Via: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bKfrank' + n,
          'Max-Forwards: 70',
          `From: <sip:frank@partner.example>;tag=fr${n}`,
          'To: <sip:user12@parley.local>',
          `Call-ID: frank-sub-${n}@test`,
          'CSeq: 1 SUBSCRIBE',
          'Contact: <sip:frank@127.0.0.1:5999>',
          'Event: presence',
          'Expires: 600',
          'Content-Length: 0',
          '',
          '',
        ].join('\r\n'),
      );
    const first = await sendRaw(ctx.edge, subscribe(1), 'user12@parley.local');
    expect(first.status).toBe(202);
    expect(first.out).toMatch(/User-Agent: Parley/);
    await until(() => deliveredTo('user12@parley.local').some((e) => e.type === 'contact-request'), 5_000, 'contact request to Teams');
    expect(deliveredTo('user12@parley.local').find((e) => e.type === 'contact-request')).toMatchObject({ from: sipUser('frank') });

    // Teams accepts: Parley subscribes back, which is what tells the edge frank may watch user12.
    await ctx.t.hub.ingest({ type: 'contact-response', id: 'cresp-frank', ts: Date.now(), from: teamsUser(12), to: sipUser('frank'), decision: 'accepted' });
    await until(() => ctx.t.sink.events.some((e) => e.messageId === 'cresp-frank' && e.outcome === 'delivered'), 10_000, 'acceptance sent');
    const second = await sendRaw(ctx.edge, subscribe(2), 'user12@parley.local');
    expect(second.status).toBeGreaterThanOrEqual(200);
    expect(second.status).toBeLessThan(300);
    expect(second.out).not.toMatch(/User-Agent: Parley/);
  });
});
