// The benchmark's XMPP users: an @xmpp/client each, in a worker thread of its
// own (xmpp-peer.mjs), driven and awaited from the benchmark's thread.
import { Worker } from 'node:worker_threads';
import { PROSODY_PASSWORD, type TestProsody } from '../../test/support/prosody.ts';

type PeerMsg =
  | { kind: 'ready' }
  | { kind: 'done'; times: Float64Array; firstAt: number; lastAt: number; cpuSeconds: number }
  | { kind: 'sent'; times: Float64Array; startedAt: number; endedAt: number; cpuSeconds: number }
  | { kind: 'error'; message: string };

export class Peer {
  private readonly worker: Worker;
  private readonly waiters = new Map<string, { resolve: (m: PeerMsg) => void; reject: (err: Error) => void }>();
  private readonly early = new Map<string, PeerMsg>();
  private failure: Error | undefined;

  constructor(prosody: TestProsody, username: string, mode: 'send' | 'receive', opts: { to?: string; count: number; ratePerSec?: number; idPrefix: string }) {
    this.worker = new Worker(new URL('./xmpp-peer.mjs', import.meta.url), {
      workerData: {
        service: `xmpp://127.0.0.1:${prosody.c2sPort}`, domain: 'partner.example', username, password: PROSODY_PASSWORD,
        mode, to: opts.to ?? '', count: opts.count, ratePerSec: opts.ratePerSec ?? 0, idPrefix: opts.idPrefix, chunk: 200,
      },
    });
    this.worker.on('message', (m: PeerMsg) => {
      if (m.kind === 'error') return this.fail(new Error(`xmpp peer ${username}: ${m.message}`));
      const w = this.waiters.get(m.kind);
      if (w) {
        this.waiters.delete(m.kind);
        w.resolve(m);
      } else this.early.set(m.kind, m);
    });
    this.worker.on('error', (err) => this.fail(err));
    this.worker.on('exit', (code) => this.fail(new Error(`xmpp peer ${username} exited (${code})`)));
  }

  /** A peer that failed or ended fails whatever is still awaited of it, at once rather than at a timeout. */
  private fail(err: Error): void {
    this.failure ??= err;
    for (const w of this.waiters.values()) w.reject(err);
    this.waiters.clear();
  }

  next<K extends PeerMsg['kind']>(kind: K, timeoutMs = 120_000): Promise<Extract<PeerMsg, { kind: K }>> {
    const early = this.early.get(kind);
    if (early) {
      this.early.delete(kind);
      return Promise.resolve(early as Extract<PeerMsg, { kind: K }>);
    }
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.waiters.delete(kind);
        reject(new Error(`xmpp peer: no ${kind} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.set(kind, {
        resolve: (m) => (clearTimeout(t), resolve(m as Extract<PeerMsg, { kind: K }>)),
        reject: (err) => (clearTimeout(t), reject(err)),
      });
    });
  }

  go(): void {
    this.worker.postMessage('go');
  }

  async stop(): Promise<void> {
    this.worker.postMessage('stop');
    await Promise.race([new Promise((r) => this.worker.once('exit', r)), new Promise((r) => setTimeout(r, 3000))]);
    await this.worker.terminate();
  }
}
