import type net from 'node:net';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ComponentLink } from '../../src/connectors/xmpp/link.ts';
import { until } from '../support/hub.ts';
import { startFakeXmppServer, type FakeXmppServer } from '../support/fake-xmpp-server.ts';

/**
 * The write window, against a server whose pongs the test hands out: writes
 * pipeline up to the window, wait in order beyond it, each resolves with its
 * own pong, and writes waiting for room fail at once when the stream drops.
 */
describe('XMPP component writes: confirmed one by one, within a window', () => {
  let fake: FakeXmppServer;
  let link: ComponentLink;
  let session: net.Socket;
  let received = '';
  beforeAll(async () => {
    fake = await startFakeXmppServer();
    link = new ComponentLink({
      service: `xmpp://127.0.0.1:${fake.port}`, domain: 'parley.local', secret: 'secret-123', barrierDomain: 'partner.example', windowBytes: 1000,
      maxPendingBytes: 64 * 1024, reconnectMinMs: 60_000, reconnectMaxMs: 60_000, connectTimeoutMs: 5_000, log: pino({ level: 'silent' }), onStanza: () => undefined,
    });
    await link.start();
    session = await fake.nextSession();
    session.on('data', (d: Buffer) => (received += d.toString('utf8')));
    await link.waitOnline(5_000);
  });
  afterAll(async () => {
    await link.stop();
    await fake.close();
  });

  const msg = (tag: string, bytes: number): string => `<message to='bob@partner.example' id='${tag}'><body>${'x'.repeat(bytes - 70)}</body></message>`;
  const pings = (): string[] => [...received.matchAll(/id="(parley-ping-\d+)"/g)].map((m) => m[1] ?? '');
  const pong = (id: string): boolean => session.write(`<iq type='result' id='${id}' from='partner.example' to='parley.local'/>`);
  const settled = <T>(p: Promise<T>): { state: () => string } => {
    let state = 'pending';
    p.then(() => (state = 'resolved'), () => (state = 'rejected'));
    return { state: () => state };
  };

  it('sends beyond the window only as pongs come back, in order, and resolves each write with its own pong', async () => {
    const a = link.write(msg('A', 600));
    const b = link.write(msg('B', 600));
    const c = link.write(msg('C', 100));
    const [sa, sb, sc] = [settled(a), settled(b), settled(c)];
    await until(() => pings().length === 1, 2_000, 'A and its ping');
    await new Promise((r) => setTimeout(r, 100));
    // B does not fit beside A; C waits behind B.
    expect(received).toContain("id='A'");
    expect(received).not.toContain("id='B'");
    expect(received).not.toContain("id='C'");
    expect([sa.state(), sb.state(), sc.state()]).toEqual(['pending', 'pending', 'pending']);
    pong(pings()[0] ?? '');
    await a;
    await until(() => pings().length === 3, 2_000, 'B and C with their pings');
    expect(received.indexOf("id='B'")).toBeLessThan(received.indexOf("id='C'"));
    // C's pong alone does not confirm B: each write waits for its own.
    const [pb, pc] = pings().slice(1);
    pong(pc ?? '');
    await c;
    expect(sb.state()).toBe('pending');
    pong(pb ?? '');
    await b;
  });

  it('counts bytes, not characters: two-byte characters fill the window twice as fast', async () => {
    const before = pings().length;
    // 400 two-byte characters: ~470 characters but ~870 bytes; beside it, 200 more bytes do not fit in 1000.
    const wide = `<message to='bob@partner.example' id='W'><body>${'é'.repeat(400)}</body></message>`;
    const w = link.write(wide);
    const n = link.write(msg('N', 200));
    await until(() => pings().length === before + 1, 2_000, 'the wide write');
    await new Promise((r) => setTimeout(r, 100));
    expect(received).not.toContain("id='N'");
    pong(pings()[before] ?? '');
    await w;
    await until(() => pings().length === before + 2, 2_000, 'N after the wide write was confirmed');
    pong(pings()[before + 1] ?? '');
    await n;
  });

  it('lets a write larger than the window go alone, and fails waiting writes at once when the stream drops', async () => {
    const before = pings().length;
    const big = settled(link.write(msg('BIG', 3000)));
    await until(() => pings().length === before + 1, 2_000, 'the big write sent alone');
    const waiting = link.write(msg('D', 200));
    const stateD = settled(waiting);
    await new Promise((r) => setTimeout(r, 100));
    expect(received).not.toContain("id='D'");
    session.destroy();
    await expect(waiting).rejects.toThrow();
    await until(() => big.state() === 'rejected', 2_000, 'the unconfirmed big write failed');
    expect(stateD.state()).toBe('rejected');
  });
});
