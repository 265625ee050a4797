import crypto from 'node:crypto';
import type { Core, Message, Notification } from 'sip.js';
import type { Address } from '../../core/address.ts';
import type { HubPort, IngestAck } from '../../core/connector.ts';
import type { Envelope } from '../../core/envelope.ts';
import { bodyToRichText, decodeBody, parseContentType } from './content.ts';
import { ISCOMPOSING_TYPE, parseIsComposing } from './iscomposing.ts';
import { parsePidf } from './pidf.ts';
import { responseForError } from './status.ts';
import { addressFromAor, aor } from './uri.ts';

export interface InboundOptions {
  localDomains: ReadonlySet<string>;
  maxBodyBytes: number;
}

export interface InboundCounters {
  count(kind: 'accepted' | 'refused' | 'dropped', status: number): void;
}

export type Reply = (status: number, reason: string, headers?: string[]) => void;

interface Party {
  user: string | undefined;
  host: string | undefined;
  /** As received: a latin1 byte string. */
  displayName: string | undefined;
}

/** What the connector needs of an inbound request, from sip.js or from the fast path (fast-message.ts). */
export interface InboundRequest {
  method: string;
  callId: string;
  cseq: number;
  fromTag: string | undefined;
  from: Party;
  to: Party;
  /** Body bytes as a latin1 byte string. */
  body: string;
  contentType: string | undefined;
}

function fromSipJs(msg: Core.IncomingRequestMessage): InboundRequest {
  const party = (h: Core.IncomingRequestMessage['from'] | undefined): Party => ({ user: h?.uri?.user, host: h?.uri?.host, displayName: h?.displayName });
  return { method: msg.method, callId: msg.callId, cseq: msg.cseq, fromTag: msg.fromTag, from: party(msg.from), to: party(msg.to), body: msg.body ?? '', contentType: msg.getHeader('content-type') };
}

type OneShotHash = (algorithm: string, data: string, encoding: 'base64url') => string;
/** node >= 20.12 hashes a short string in one call, without a Hash object per message. */
const oneShot = (crypto as unknown as { hash?: OneShotHash }).hash;
const sha1 = (s: string): string => (oneShot ? oneShot('sha1', s, 'base64url') : crypto.createHash('sha1').update(s).digest('base64url'));

/** Stable id for a request: retransmissions and resends of one transaction give the same envelope id. */
function requestId(msg: InboundRequest): string {
  const h = sha1(`${msg.callId}\n${msg.cseq}\n${msg.fromTag ?? ''}\n${msg.method}`);
  return `sip-${h}`;
}

/**
 * Requests from the edge -> envelopes. Each request is answered only after
 * hub.ingest() resolved: 200/202 once durably enqueued, 403 when policy
 * blocks it, 4xx for what cannot be an envelope, 503 when Parley is busy.
 */
export class Inbound {
  constructor(
    private readonly hub: () => HubPort | undefined,
    private readonly opts: InboundOptions,
    private readonly counters: InboundCounters,
  ) {}

  /** From (external) and To (internal) of a request, or the SIP response refusing it. */
  private parties(msg: InboundRequest): { from: Address; to: Address } | { status: number; reason: string } {
    const f = aor(msg.from.user, msg.from.host);
    const t = aor(msg.to.user, msg.to.host);
    if (!f || !t) return { status: 400, reason: 'Bad Request' };
    if (!this.opts.localDomains.has(t.domain)) return { status: 404, reason: 'Not Found' };
    if (this.opts.localDomains.has(f.domain)) return { status: 403, reason: 'Forbidden' };
    let name = msg.from.displayName;
    if (name) name = Buffer.from(name, 'latin1').toString('utf8');
    return { from: addressFromAor(f, this.opts.localDomains, name || undefined), to: addressFromAor(t, this.opts.localDomains) };
  }

  private async submit(env: Envelope, reply: Reply, okStatus = 200): Promise<void> {
    const hub = this.hub();
    if (!hub) return this.refuse(reply, 503, 'Service Unavailable', ['Retry-After: 5']);
    let ack: IngestAck;
    try {
      ack = await hub.ingest(env);
    } catch (err) {
      hub.log.error({ err }, 'sip: ingest failed');
      return this.refuse(reply, 500, 'Server Internal Error');
    }
    if (ack.outcome === 'accepted' || ack.outcome === 'duplicate') {
      this.counters.count('accepted', okStatus);
      reply(okStatus, okStatus === 202 ? 'Accepted' : 'OK');
      return;
    }
    const r = responseForError(ack.error?.code);
    this.refuse(reply, r.status, r.reason, r.status === 503 ? ['Retry-After: 1'] : []);
  }

  private refuse(reply: Reply, status: number, reason: string, headers: string[] = []): void {
    this.counters.count('refused', status);
    reply(status, reason, headers);
  }

  onMessage(message: Message): void {
    const reply: Reply = (statusCode, reasonPhrase, extraHeaders) => {
      const p = statusCode < 300 ? message.accept({ statusCode, reasonPhrase }) : message.reject({ statusCode, reasonPhrase, ...(extraHeaders?.length ? { extraHeaders } : {}) });
      p.catch(() => undefined);
    };
    this.onIm(fromSipJs(message.request), reply);
  }

  /** A MESSAGE: im or typing. */
  onIm(msg: InboundRequest, reply: Reply): void {
    const parties = this.parties(msg);
    if ('status' in parties) return this.refuse(reply, parties.status, parties.reason);
    const body = msg.body;
    if (body.length > this.opts.maxBodyBytes) return this.refuse(reply, 413, 'Request Entity Too Large');
    const ct = parseContentType(msg.contentType);
    const base = { id: requestId(msg), ts: Date.now(), ...parties };
    if (ct.type === ISCOMPOSING_TYPE) {
      const state = parseIsComposing(decodeBody(body, ct.charset));
      if (!state) return this.refuse(reply, 400, 'Bad Request');
      void this.submit({ ...base, type: 'typing', state: state === 'active' ? 'composing' : 'paused' }, reply);
      return;
    }
    const rich = bodyToRichText(body, ct);
    if (!rich) return this.refuse(reply, 415, 'Unsupported Media Type', ['Accept: text/plain, text/html, application/im-iscomposing+xml']);
    if (rich.blocks.length === 0) return this.refuse(reply, 400, 'Bad Request');
    void this.submit({ ...base, type: 'im', body: rich }, reply);
  }

  /** An out-of-dialog NOTIFY (some servers send presence that way). */
  onNotify(notification: Notification): void {
    const msg = fromSipJs(notification.request);
    const reply: Reply = (statusCode, reasonPhrase) => {
      (statusCode < 300 ? notification.accept({ statusCode, reasonPhrase }) : notification.reject({ statusCode, reasonPhrase })).catch(() => undefined);
    };
    const parties = this.parties(msg);
    if ('status' in parties) return this.refuse(reply, parties.status, parties.reason);
    const ct = parseContentType(msg.contentType);
    const body = msg.body;
    const p = ct.type === 'application/pidf+xml' && body.length <= this.opts.maxBodyBytes ? parsePidf(decodeBody(body, ct.charset)) : undefined;
    if (!p) return this.refuse(reply, 489, 'Bad Event');
    void this.submit({ id: requestId(msg), ts: Date.now(), ...parties, type: 'presence', ...p }, reply);
  }

  /**
   * A SUBSCRIBE the edge did not serve itself: the watcher is not yet a
   * contact of the local user, so it is a contact request. 202 Accepted
   * (pending) once durably enqueued; the answer comes later.
   */
  onSubscribe(req: Core.IncomingSubscribeRequest): void {
    const raw = req.message;
    const msg = fromSipJs(raw);
    const reply: Reply = (statusCode, reasonPhrase, extraHeaders) => {
      try {
        if (statusCode < 300) req.accept({ statusCode, reasonPhrase, extraHeaders: [`Expires: 60`, ...(extraHeaders ?? [])] });
        else req.reject({ statusCode, reasonPhrase, ...(extraHeaders?.length ? { extraHeaders } : {}) });
      } catch {
        // transaction gone
      }
    };
    const event = (raw.getHeader('event') ?? '').split(';')[0]?.trim().toLowerCase();
    if (event !== 'presence') return this.refuse(reply, 489, 'Bad Event', ['Allow-Events: presence']);
    const parties = this.parties(msg);
    if ('status' in parties) return this.refuse(reply, parties.status, parties.reason);
    const expires = Number.parseInt(raw.getHeader('expires') ?? '3600', 10);
    const base = { id: requestId(msg), ts: Date.now(), ...parties };
    // An unsubscribe (Expires: 0) from someone not served by the edge: the contact is removed.
    if (expires === 0) return void this.submit({ ...base, type: 'contact-response', decision: 'removed' }, reply);
    void this.submit({ ...base, type: 'contact-request' }, reply, 202);
  }
}
