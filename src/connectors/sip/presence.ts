import type { UserAgent } from 'sip.js';
import type { Envelope } from '../../core/envelope.ts';
import { buildPidf, type Show } from './pidf.ts';
import { sendRequest, type FinalResponse } from './requests.ts';

interface Publication {
  show: Show;
  status: string | undefined;
  etag: string | undefined;
  /** When the edge forgets it (ms). */
  expiresAt: number;
}

/**
 * The presence of Parley's users as published to the edge (PUBLISH, PIDF):
 * one publication per user, refreshed with its ETag before it expires,
 * published afresh when the edge has forgotten it (412, edge restart).
 * The edge's presence server notifies the watchers.
 */
export class Publications {
  private readonly book = new Map<string, Publication>();

  constructor(
    private readonly ua: () => UserAgent | undefined,
    private readonly opts: { expiresS: number; timeoutMs: number; maxUsers: number },
    /** Told of each accepted publication, to redo it after a restart. */
    private readonly onPublished?: (userUri: string, show: Show, status: string | undefined) => void,
  ) {}

  get size(): number {
    return this.book.size;
  }

  /** Publishes the presence envelope's state for its sender; resolves with the final response. */
  async publish(env: Extract<Envelope, { type: 'presence' }>, userUri: string): Promise<FinalResponse> {
    const prev = this.book.get(userUri);
    if (prev && prev.show === env.show && prev.status === env.status && prev.expiresAt - Date.now() > (this.opts.expiresS * 1000) / 2) {
      return { status: 200, reason: 'Unchanged', header: () => undefined };
    }
    if (!prev && this.book.size >= this.opts.maxUsers) {
      const oldest = this.book.keys().next().value;
      if (oldest !== undefined) this.book.delete(oldest);
    }
    return this.send(userUri, env.show, env.status, prev?.etag);
  }

  private async send(userUri: string, show: Show, status: string | undefined, etag: string | undefined): Promise<FinalResponse> {
    const ua = this.ua();
    if (!ua) return { status: 503, reason: 'Not Connected', header: () => undefined };
    const headers = ['Event: presence', `Expires: ${this.opts.expiresS}`];
    if (etag) headers.push(`SIP-If-Match: ${etag}`);
    const body = { type: 'application/pidf+xml', content: buildPidf(userUri, show, status) };
    let res = await sendRequest(ua, { method: 'PUBLISH', target: userUri, from: userUri, headers, body }, this.opts.timeoutMs);
    if (res.status === 412 && etag) return this.send(userUri, show, status, undefined);
    if (res.status >= 200 && res.status < 300) {
      const expires = Number.parseInt(res.header('expires') ?? '', 10);
      const s = Number.isFinite(expires) && expires > 0 ? expires : this.opts.expiresS;
      this.book.delete(userUri);
      this.book.set(userUri, { show, status, etag: res.header('sip-etag'), expiresAt: Date.now() + s * 1000 });
      this.onPublished?.(userUri, show, status);
    } else {
      res = { ...res };
    }
    return res;
  }

  /** Publishes what was published before a restart, unless published since. */
  async restore(saved: ReadonlyArray<{ userUri: string; show: Show; status?: string | undefined }>): Promise<void> {
    for (const p of saved) {
      if (this.book.has(p.userUri)) continue;
      await this.send(p.userUri, p.show, p.status, undefined);
    }
  }

  /** Refreshes publications that are past half their life; with `all`, republishes everything (after a reconnect). */
  async refresh(all: boolean): Promise<void> {
    const now = Date.now();
    for (const [userUri, p] of [...this.book]) {
      if (!all && p.expiresAt - now > (this.opts.expiresS * 1000) / 2) continue;
      await this.send(userUri, p.show, p.status, all ? undefined : p.etag);
    }
  }
}
