/**
 * The full JID each recent inbound stanza came from, by envelope id. A reply
 * (an error, an iq result) must go to the sending resource: the server drops
 * an error message or iq result addressed to a bare JID (RFC 6121 8.5.2).
 * Bounded and short-lived; a reply after a restart falls back to the bare JID.
 */
export class ReturnPaths {
  private readonly paths = new Map<string, { jid: string; at: number }>();

  constructor(
    private readonly max = 50_000,
    private readonly ttlMs = 15 * 60_000,
  ) {}

  remember(envelopeId: string, fullJid: string | undefined, now = Date.now()): void {
    if (!fullJid || !fullJid.includes('/')) return;
    this.paths.delete(envelopeId);
    this.paths.set(envelopeId, { jid: fullJid, at: now });
    if (this.paths.size > this.max) {
      const oldest = this.paths.keys().next().value;
      if (oldest !== undefined) this.paths.delete(oldest);
    }
  }

  lookup(envelopeId: string | undefined, now = Date.now()): string | undefined {
    if (!envelopeId) return undefined;
    const p = this.paths.get(envelopeId);
    if (!p) return undefined;
    if (now - p.at > this.ttlMs) {
      this.paths.delete(envelopeId);
      return undefined;
    }
    return p.jid;
  }

  get size(): number {
    return this.paths.size;
  }
}
