import { Core, type UserAgent } from 'sip.js';
import type { Address } from '../../core/address.ts';
import type { Envelope } from '../../core/envelope.ts';
import { decodeBody, parseContentType } from './content.ts';
import { parsePidf } from './pidf.ts';
import { watchKey, type SavedWatch } from './presence-book.ts';
import { uri } from './requests.ts';

/** What a subscription attempt came to, as far as the SUBSCRIBE's final response tells. */
export type SubscribeOutcome = { kind: 'sent' } | { kind: 'declined' } | { kind: 'failed'; status: number; reason: string; retryAfter?: string };

interface Watch {
  local: Address;
  remote: Address;
  localUri: string;
  remoteUri: string;
  subscription: Core.Subscription | undefined;
  /** The contact request awaits its answer (the first NOTIFY that says active or terminated). */
  asking: boolean;
}

export interface WatchEvents {
  /** An envelope to hand to the hub (presence, contact-response). */
  emit(env: Envelope): void;
  newId(): string;
  log(msg: string, extra?: Record<string, unknown>): void;
  /** An established subscription, to redo after a restart. */
  saved?(w: SavedWatch): void;
  /** A subscription that ended for good (declined, removed, unsubscribed). */
  forgotten?(local: Address, remote: Address): void;
}

/** Responses after which a subscription will not be tried again. */
const FINAL_REFUSALS = new Set([403, 404, 481, 489, 603, 604]);

/**
 * Presence subscriptions of Parley's users to external contacts (RFC 6665 +
 * PIDF). A contact request is the first SUBSCRIBE: 403/603 or a NOTIFY saying
 * terminated;reason=rejected is a refusal, a NOTIFY saying active is the
 * acceptance. Later NOTIFYs become presence envelopes.
 */
export class Watches {
  private readonly watches = new Map<string, Watch>();
  private closing = false;

  constructor(
    private readonly ua: () => UserAgent | undefined,
    private readonly events: WatchEvents,
    private readonly opts: { expiresS: number; maxWatches: number },
  ) {}

  get size(): number {
    return this.watches.size;
  }

  private key(local: Address, remote: Address): string {
    return watchKey(local, remote);
  }

  /** Drops a watch; `forever` also forgets it for restarts (not while closing: it is to be redone). */
  private drop(key: string, watch: Watch, forever: boolean): void {
    if (this.watches.get(key) === watch) this.watches.delete(key);
    if (forever && !this.closing) this.events.forgotten?.(watch.local, watch.remote);
  }

  has(local: Address, remote: Address): boolean {
    return this.watches.get(this.key(local, remote))?.subscription !== undefined;
  }

  subscribe(local: Address, remote: Address, localUri: string, remoteUri: string, asking: boolean): Promise<SubscribeOutcome> {
    const ua = this.ua();
    if (!ua) return Promise.resolve({ kind: 'failed', status: 503, reason: 'Not Connected' });
    const key = this.key(local, remote);
    const existing = this.watches.get(key);
    if (existing?.subscription) return Promise.resolve({ kind: 'sent' });
    if (!existing && this.watches.size >= this.opts.maxWatches) return Promise.resolve({ kind: 'failed', status: 503, reason: 'Too Many Subscriptions' });
    const watch: Watch = { local, remote, localUri, remoteUri, subscription: undefined, asking };
    this.watches.set(key, watch);
    const target = uri(remoteUri);
    const headers = ['Event: presence', 'Accept: application/pidf+xml', `Expires: ${this.opts.expiresS}`, `Contact: ${ua.contact.toString()}`];
    const message = ua.userAgentCore.makeOutgoingRequestMessage('SUBSCRIBE', target, uri(localUri), target, {}, headers);
    return new Promise((resolve) => {
      let settled = false;
      const settle = (o: SubscribeOutcome): void => {
        if (settled) return;
        settled = true;
        resolve(o);
      };
      const failure = (res: Core.IncomingResponse): void => {
        const status = res.message.statusCode ?? 500;
        this.drop(key, watch, FINAL_REFUSALS.has(status));
        if (status === 403 || status === 603) settle({ kind: 'declined' });
        else {
          const retryAfter = res.message.getHeader('retry-after');
          settle({ kind: 'failed', status, reason: res.message.reasonPhrase ?? '', ...(retryAfter ? { retryAfter } : {}) });
        }
      };
      try {
        ua.userAgentCore.subscribe(message, {
          onAccept: () => settle({ kind: 'sent' }),
          onReject: failure,
          onRedirect: failure,
          onNotify: ({ request, subscription }) => {
            settle({ kind: 'sent' });
            request.accept();
            if (subscription) {
              subscription.autoRefresh = true;
              watch.subscription = subscription;
              if (!this.closing) this.events.saved?.({ local, remote, localUri, remoteUri });
              subscription.delegate = {
                onNotify: (r) => {
                  r.accept();
                  this.onNotify(watch, r.message);
                },
                onTerminated: () => this.drop(key, watch, false),
              };
            }
            this.onNotify(watch, request.message);
          },
          onNotifyTimeout: () => this.drop(key, watch, false),
        });
      } catch (err) {
        this.watches.delete(key);
        settle({ kind: 'failed', status: 503, reason: (err as Error).message });
      }
    });
  }

  private onNotify(watch: Watch, msg: Core.IncomingRequestMessage): void {
    const state = (msg.getHeader('subscription-state') ?? '').toLowerCase();
    const base = { id: this.events.newId(), ts: Date.now(), from: watch.remote, to: watch.local };
    if (state.startsWith('terminated')) {
      const decision = watch.asking ? 'declined' : 'removed';
      watch.asking = false;
      if (/reason\s*=\s*(rejected|noresource|deactivated|giveup)/.test(state) || decision === 'declined') {
        this.events.emit({ ...base, type: 'contact-response', decision });
      }
      this.drop(this.key(watch.local, watch.remote), watch, true);
      return;
    }
    if (state.startsWith('active') && watch.asking) {
      watch.asking = false;
      this.events.emit({ ...base, id: this.events.newId(), type: 'contact-response', decision: 'accepted' });
    }
    const body = msg.body;
    if (!body || body.length > 64 * 1024) return;
    const ct = parseContentType(msg.getHeader('content-type'));
    if (ct.type !== 'application/pidf+xml') return;
    const p = parsePidf(decodeBody(body, ct.charset));
    if (p) this.events.emit({ ...base, id: this.events.newId(), type: 'presence', ...p });
  }

  /** Ends the subscription of a local user to a contact (contact removed or declined). */
  unsubscribe(local: Address, remote: Address): void {
    const key = this.key(local, remote);
    const w = this.watches.get(key);
    this.watches.delete(key);
    this.events.forgotten?.(local, remote);
    try {
      w?.subscription?.unsubscribe();
    } catch {
      // already gone
    }
  }

  clear(): void {
    this.closing = true;
    for (const w of this.watches.values()) {
      try {
        w.subscription?.dispose();
      } catch {
        // ignore
      }
    }
    this.watches.clear();
    this.closing = false;
  }
}
