/**
 * The full JID each recent inbound stanza came from, by envelope id. A reply
 * (an error, an iq result) must go to the sending resource: the server drops
 * an error message or iq result addressed to a bare JID (RFC 6121 8.5.2).
 * Bounded and short-lived; a reply after a restart falls back to the bare JID.
 */
export class ReturnPaths {
  /** Two generations: when the current one is full it becomes the old one, and the old one is dropped. */
  private current = new Map<string, { jid: string; at: number }>();
  private previous = new Map<string, { jid: string; at: number }>();

  constructor(
    private readonly max = 50_000,
    private readonly ttlMs = 15 * 60_000,
  ) {}

  remember(envelopeId: string, fullJid: string | undefined, now = Date.now()): void {
    if (!fullJid || !fullJid.includes('/')) return;
    if (this.current.size >= Math.ceil(this.max / 2)) {
      this.previous = this.current;
      this.current = new Map();
    }
    this.current.set(envelopeId, { jid: fullJid, at: now });
  }

  lookup(envelopeId: string | undefined, now = Date.now()): string | undefined {
    if (!envelopeId) return undefined;
    const p = this.current.get(envelopeId) ?? this.previous.get(envelopeId);
    if (!p || now - p.at > this.ttlMs) return undefined;
    return p.jid;
  }

  get size(): number {
    return this.current.size + this.previous.size;
  }
}
