import net from 'node:net';

/**
 * A hostile stand-in for an XMPP server's component port: accepts any
 * XEP-0114 handshake, then writes whatever the test tells it to.
 */
export interface FakeXmppServer {
  port: number;
  connections: number;
  /** Resolves with the next connection that completed its handshake. */
  nextSession(): Promise<net.Socket>;
  close(): Promise<void>;
}

export async function startFakeXmppServer(): Promise<FakeXmppServer> {
  const waiting: Array<(s: net.Socket) => void> = [];
  const ready: net.Socket[] = [];
  const sockets = new Set<net.Socket>();
  const fake: FakeXmppServer = {
    port: 0,
    connections: 0,
    nextSession() {
      const s = ready.shift();
      if (s) return Promise.resolve(s);
      return new Promise((resolve) => waiting.push(resolve));
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
  const server = net.createServer((socket) => {
    fake.connections++;
    sockets.add(socket);
    socket.on('error', () => undefined).on('close', () => sockets.delete(socket));
    let buf = '';
    let state: 'header' | 'handshake' | 'open' = 'header';
    socket.on('data', (d: Buffer) => {
      if (state === 'open') return;
      buf += d.toString('utf8');
      if (state === 'header' && buf.includes('<stream:stream')) {
        state = 'handshake';
        const domain = /to=['"]([^'"]+)['"]/.exec(buf)?.[1] ?? 'parley.local';
        socket.write(`<?xml version='1.0'?><stream:stream xmlns:stream='http://etherx.jabber.org/streams' xmlns='jabber:component:accept' from='${domain}' id='fake-${fake.connections}'>`);
      }
      if (state === 'handshake' && buf.includes('</handshake>')) {
        state = 'open';
        socket.write('<handshake/>');
        const w = waiting.shift();
        if (w) w(socket);
        else ready.push(socket);
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  fake.port = (server.address() as net.AddressInfo).port;
  return fake;
}
