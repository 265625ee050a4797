import type net from 'node:net';
import xml from '@xmpp/xml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Envelope } from '../../src/core/envelope.ts';
import { toPlainText } from '../../src/core/richtext.ts';
import { until } from '../support/hub.ts';
import { startFakeXmppServer, type FakeXmppServer } from '../support/fake-xmpp-server.ts';
import { useXmppStack, waitTeams, xmppUser, type TestXmppUser } from '../support/xmpp.ts';

const text = (e: Envelope): string => (e.type === 'im' ? toPlainText(e.body) : '');

describe('XMPP component stream against a hostile server', () => {
  let fake: FakeXmppServer;
  const s = useXmppStack({
    componentPort: async () => {
      fake = await startFakeXmppServer();
      return fake.port;
    },
    xmpp: { barrierDomain: undefined, roomsDomain: undefined, maxPendingBytes: 64 * 1024 },
  });
  let session: net.Socket;
  beforeAll(async () => {
    session = await fake.nextSession();
  });
  afterAll(async () => {
    await fake?.close();
  });

  const stanza = (id: string, body: string): string =>
    `<message from='bob@partner.example/r' to='alice@parley.local' type='chat' id='${id}'><body>${body}</body></message>`;

  it('keeps a 4-byte emoji whole when it is split across two TCP reads', async () => {
    const bytes = Buffer.from(stanza('split-1', 'rocket 🚀 away'), 'utf8');
    const cut = bytes.indexOf(0xf0) + 2;
    session.write(bytes.subarray(0, cut));
    await new Promise((r) => setTimeout(r, 50));
    session.write(bytes.subarray(cut));
    const env = await waitTeams(s.t, (e) => e.id === 'x:bob@partner.example/split-1');
    expect(text(env)).toBe('rocket 🚀 away');
  });

  it('survives an unknown entity: the stream restarts, the process stays up, the next stanza arrives', async () => {
    const before = s.xmpp.counters();
    session.write(stanza('bad-entity', 'hi &bogus; there'));
    const next = await fake.nextSession();
    await until(() => s.xmpp.status().state === 'up', 10_000, 'reconnected');
    expect(s.xmpp.counters().parseErrors).toBe((before.parseErrors ?? 0) + 1);
    expect(s.t.loopback.delivered.some((d) => d.env.id.includes('bad-entity'))).toBe(false);
    next.write(stanza('after-entity', 'still here 👍'));
    const env = await waitTeams(s.t, (e) => e.id === 'x:bob@partner.example/after-entity');
    expect(text(env)).toBe('still here 👍');
    session = next;
  });

  it('cuts off a stanza that never ends, then carries on', async () => {
    session.write(`<message from='bob@partner.example/r' to='alice@parley.local' id='huge'><body>`);
    const chunk = 'x'.repeat(16 * 1024);
    for (let i = 0; i < 8 && !session.destroyed; i++) {
      session.write(chunk);
      await new Promise((r) => setTimeout(r, 5));
    }
    const next = await fake.nextSession();
    expect(s.xmpp.counters().streamsTooLarge).toBe(1);
    next.write(stanza('after-huge', 'ok'));
    await waitTeams(s.t, (e) => e.id === 'x:bob@partner.example/after-huge');
    session = next;
  });
});

describe('XMPP limits on a real Prosody', () => {
  const s = useXmppStack({ xmpp: { maxStanzaBytes: 64 * 1024, messagesPerSecondPerDomain: 20, burstPerDomain: 20 } });
  let bob: TestXmppUser;
  beforeAll(async () => {
    bob = await xmppUser(s.prosody, 'ext3');
  });
  afterAll(async () => {
    await bob?.stop();
  });

  it('refuses an oversized stanza with a stanza error and stays up', async () => {
    await bob.client.send(xml('message', { to: 'alice@parley.local', type: 'chat', id: 'big-1' }, xml('body', {}, 'y'.repeat(100 * 1024))));
    const err = await bob.waitFor((el) => el.attrs.id === 'big-1' && el.attrs.type === 'error', 'size error');
    expect(err.getChild('error')?.getChild('policy-violation', 'urn:ietf:params:xml:ns:xmpp-stanzas')).toBeDefined();
    expect(s.t.loopback.delivered.some((d) => d.env.id.endsWith('/big-1'))).toBe(false);
    await bob.client.send(xml('message', { to: 'alice@parley.local', type: 'chat', id: 'small-1' }, xml('body', {}, 'small')));
    await waitTeams(s.t, (e) => e.id === 'x:ext3@partner.example/small-1');
  });

  it('rate-limits a remote domain: every message is either delivered or refused with resource-constraint, none vanish', async () => {
    await new Promise((r) => setTimeout(r, 1100)); // let the bucket refill
    const n = 100;
    const ids = Array.from({ length: n }, (_, i) => `burst-${i}`);
    await bob.client.sendMany(ids.map((id) => xml('message', { to: 'alice@parley.local', type: 'chat', id }, xml('body', {}, id))));
    const delivered = (): Set<string> => new Set(s.t.loopback.delivered.map((d) => d.env.id.replace('x:ext3@partner.example/', '')).filter((id) => id.startsWith('burst-')));
    const refused = (): Set<string> =>
      new Set(bob.stanzas.filter((el) => el.attrs.type === 'error' && el.getChild('error')?.getChild('resource-constraint', 'urn:ietf:params:xml:ns:xmpp-stanzas')).map((el) => el.attrs.id ?? ''));
    await until(() => delivered().size + refused().size === n, 20_000, 'every burst message accounted for');
    expect(refused().size).toBeGreaterThan(0);
    expect(delivered().size).toBeGreaterThanOrEqual(20);
    for (const id of ids) expect(delivered().has(id) !== refused().has(id)).toBe(true);
    expect(s.xmpp.counters().rateLimited).toBe(refused().size);
  });
});
