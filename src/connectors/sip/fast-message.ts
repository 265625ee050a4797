import { NAME_ADDR, VIA_BRANCH } from './grammar.ts';
import type { InboundRequest, Reply } from './inbound.ts';

/**
 * The common inbound request, a plain out-of-dialog MESSAGE from an external
 * user to one of Parley's users as the edge forwards it, answered without
 * sip.js: one pass over the header lines, a few anchored regular expressions,
 * a map of requests in progress for the transaction rules, and the response
 * built as sip.js builds it (constructOutgoingResponse). It does what sip.js
 * does for such a request and nothing less:
 * - a retransmission (same top Via branch) while the first is in progress is
 *   absorbed (non-INVITE server transaction, "Trying");
 * - the same From tag, Call-ID and CSeq on another branch while the first is
 *   in progress is a merged request: 482 (RFC 3261 8.2.2.2);
 * - once answered the transaction is over (Timer J is zero on WebSocket), as
 *   in sip.js; a later copy is a new request, which the hub deduplicates.
 * Anything that is not plainly this shape (another method, a To tag, header
 * folding, a duplicate or odd From/To/Call-ID/CSeq, a Content-Length that
 * does not match, an escaped display name, a Request-URI that is not ours)
 * returns false and goes to sip.js unchanged.
 */
export interface FastPathConfig {
  /** Users of the Request-URI sip.js accepts (its AOR and its contact): others get sip.js's 404. */
  ruriUsers(): readonly string[];
  localDomains: ReadonlySet<string>;
  /** The Supported and User-Agent lines sip.js puts in its responses (a byte string); undefined when the UA is not running. */
  responseHeaders(): string | undefined;
  /**
   * Sends a response given as a byte string (one char per byte, as requests
   * arrive): the header values it copies from the request go back as the
   * very bytes that came.
   */
  send(response: string): Promise<void>;
  handle(req: InboundRequest, reply: Reply): void;
}

const REQUEST_LINE = /^MESSAGE sip:([A-Za-z0-9_.+-]{1,64})@[a-z0-9-]{1,63}(?:\.[a-z0-9-]{1,63}){0,8}(?::[1-9][0-9]{0,4})?(?:;transport=(?:ws|udp|tcp))? SIP\/2\.0$/;
const CSEQ = /^([0-9]{1,9})[ \t]+MESSAGE$/;
const CALL_ID = /^[A-Za-z0-9\-.!%*_+`'~()<>:\\"/[\]?{}]{1,256}(?:@[A-Za-z0-9\-.!%*_+`'~()<>:\\"/[\]?{}]{1,256})?$/;
const DISPLAY = /^"([^"\\\r\n]{0,256})" ?(<.*)$/;
const CONTENT_LENGTH = /^[0-9]{1,9}$/;

/** Header names (and compact forms) whose value this path needs; the rest it passes over, as sip.js does for a MESSAGE. */
const NAMES: Record<string, string> = {
  via: 'via', v: 'via', from: 'from', f: 'from', to: 't', t: 't', 'call-id': 'i', i: 'i', cseq: 'cseq',
  'content-length': 'l', l: 'l', 'content-type': 'c', c: 'c',
};

interface Party {
  user: string;
  host: string;
  tag: string | undefined;
  displayName: string;
}

function party(value: string): Party | undefined {
  let name = '';
  let rest = value;
  const d = DISPLAY.exec(value);
  if (d) {
    name = d[1] as string;
    rest = d[2] as string;
  }
  const m = NAME_ADDR.exec(rest);
  if (!m) return undefined;
  return { user: m[1] as string, host: m[2] as string, tag: m[4], displayName: name };
}

let tagSeq = 0;
const tagPrefix = Math.random().toString(36).slice(2, 8);
const newTag = (): string => `${tagPrefix}${(tagSeq++ & 0xffffff).toString(36)}`;

export class FastMessagePath {
  /** Requests in progress: branch -> merge key, and merge key -> branch. */
  private readonly branches = new Map<string, string>();
  private readonly merged = new Map<string, string>();
  handled = 0;

  constructor(private readonly cfg: FastPathConfig) {}

  /** True when the request was taken (answered now or later); false: hand it to sip.js. */
  take(data: string): boolean {
    if (!data.startsWith('MESSAGE ')) return false;
    let end = data.indexOf('\r\n');
    if (end < 0) return false;
    const ruri = REQUEST_LINE.exec(data.slice(0, end));
    if (!ruri || !this.cfg.ruriUsers().includes(ruri[1] as string)) return false;
    const vias: string[] = [];
    const one: Record<string, string> = {};
    let pos = end + 2;
    for (;;) {
      end = data.indexOf('\r\n', pos);
      if (end < 0) return false;
      if (end === pos) break;
      const c = data.charCodeAt(pos);
      if (c === 32 || c === 9) return false; // folded header line
      const colon = data.indexOf(':', pos);
      if (colon < 0 || colon > end) return false;
      const name = data.slice(pos, colon).trim().toLowerCase();
      const key = Object.hasOwn(NAMES, name) ? NAMES[name] : undefined;
      if (key) {
        const value = data.slice(colon + 1, end).trim();
        if (key === 'via') vias.push(value);
        else if (key in one) return false;
        else one[key] = value;
      }
      pos = end + 2;
    }
    const body = data.slice(end + 2);
    const top = vias[0];
    const from = one.from;
    const to = one.t;
    const callId = one.i;
    const cseqValue = one.cseq;
    if (!top || !from || !to || !callId || !cseqValue || one.l === undefined) return false;
    if (!CONTENT_LENGTH.test(one.l) || Number(one.l) !== body.length) return false;
    const branch = VIA_BRANCH.exec(top)?.[4];
    const cseq = CSEQ.exec(cseqValue);
    if (!branch || !cseq || !CALL_ID.test(callId)) return false;
    const f = party(from);
    const t = party(to);
    if (!f?.tag || !t || t.tag !== undefined) return false;
    if (!this.cfg.localDomains.has(t.host) || this.cfg.localDomains.has(f.host)) return false;
    const extra = this.cfg.responseHeaders();
    if (extra === undefined) return false;

    const mergeKey = `${f.tag}\n${callId}\n${cseq[1]}`;
    if (this.branches.has(branch)) return true; // a retransmission while in progress: absorbed
    // Everything of the response after its status line, up to the To tag.
    const common = `${vias.map((v) => `Via: ${v}\r\n`).join('')}From: ${from}\r\nCSeq: ${cseq[1]} MESSAGE\r\nCall-ID: ${callId}\r\n${extra}To: ${to};tag=`;
    if (this.merged.has(mergeKey)) {
      this.send(`SIP/2.0 482 Loop Detected\r\n${common}${newTag()}\r\nContent-Length: 0\r\n\r\n`);
      return true;
    }
    this.branches.set(branch, mergeKey);
    this.merged.set(mergeKey, branch);
    this.handled++;
    const tx = new Transaction(this, branch, mergeKey, common);
    this.cfg.handle(
      {
        method: 'MESSAGE',
        callId,
        cseq: Number(cseq[1]),
        fromTag: f.tag,
        from: { user: f.user, host: f.host, displayName: f.displayName },
        to: { user: t.user, host: t.host, displayName: t.displayName },
        body,
        contentType: one.c,
      },
      tx.reply,
    );
    return true;
  }

  /** @internal the end of a transaction: its final response goes out and it is forgotten. */
  finish(tx: Transaction, response: string): void {
    this.branches.delete(tx.branch);
    this.merged.delete(tx.mergeKey);
    this.send(response);
  }

  private send(response: string): void {
    this.cfg.send(response).catch(() => undefined);
  }
}

/** One request in progress; `reply` sends its one final response (later ones are discarded, as by sip.js's transaction). */
class Transaction {
  readonly reply: Reply;
  private answered = false;

  constructor(
    private readonly path: FastMessagePath,
    readonly branch: string,
    readonly mergeKey: string,
    private readonly common: string,
  ) {
    this.reply = this.answer.bind(this);
  }

  private answer(status: number, reason: string, headers?: string[]): void {
    if (this.answered) return;
    this.answered = true;
    let hs = '';
    if (headers) for (const h of headers) hs += `${h.trim()}\r\n`;
    this.path.finish(this, `SIP/2.0 ${status} ${reason}\r\n${this.common}${newTag()}\r\n${hs}Content-Length: 0\r\n\r\n`);
  }
}
