import net from 'node:net';

/**
 * A TCP proxy on a loopback port of its own, for fault tests: it can cut a
 * server-to-client chunk into pieces written separately (so the client reads
 * them separately) and drop every connection.
 */
export interface TcpProxy {
  port: number;
  /** How each chunk from the server is cut before it goes to the client. */
  splitDownstream: ((chunk: Buffer) => Buffer[]) | undefined;
  dropAll(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  const sockets = new Set<net.Socket>();
  const proxy: TcpProxy = {
    port: 0,
    splitDownstream: undefined,
    dropAll() {
      for (const s of sockets) s.destroy();
    },
    async close() {
      proxy.dropAll();
      await new Promise((r) => server.close(r));
    },
  };
  const server = net.createServer((client) => {
    client.setNoDelay(true);
    const upstream = net.connect(targetPort, '127.0.0.1');
    upstream.setNoDelay(true);
    sockets.add(client).add(upstream);
    const end = (): void => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    client.pipe(upstream);
    // Pieces go out one per timer tick, in order, so that the reader sees separate reads.
    let chain = Promise.resolve();
    upstream.on('data', (chunk: Buffer) => {
      const pieces = proxy.splitDownstream?.(chunk) ?? [chunk];
      chain = chain.then(async () => {
        for (const p of pieces) {
          if (client.destroyed) return;
          client.write(p);
          if (pieces.length > 1) await new Promise((r) => setTimeout(r, 5));
        }
      });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  proxy.port = (server.address() as net.AddressInfo).port;
  return proxy;
}

/** Cuts a chunk inside its first 4-byte UTF-8 character (after its second byte), if it has one. */
export function splitInsideFourByteChar(chunk: Buffer): Buffer[] {
  const at = chunk.findIndex((b) => b >= 0xf0);
  if (at < 0) return [chunk];
  return [chunk.subarray(0, at + 2), chunk.subarray(at + 2)];
}
