import { createHash, randomUUID } from 'node:crypto';
import jid from '@xmpp/jid';
import type { Address, Platform } from '../../core/address.ts';

/**
 * How JIDs map to Parley addresses and ids.
 *
 * - An internal user is `local@<component domain>`; its address has the
 *   platform the organisation's users live on (Teams) and that same id.
 * - An external user is its bare JID on platform `xmpp`.
 * - An envelope made from a stanza gets the id `x:<bare sender>/<stanza id>`
 *   (`xq:` for an iq), so a redelivered stanza keeps its id, and a reference
 *   to one of the sender's own messages (a correction, a retraction) maps back
 *   without a lookup. Outbound stanzas carry the envelope's id as their id.
 */
export interface Addressing {
  domain: string;
  localPlatform: Platform;
}

const MAX_ID = 256;

export interface ParsedJid {
  bare: string;
  local: string;
  domain: string;
  resource: string;
}

export function parseJid(s: string | undefined): ParsedJid | undefined {
  if (!s || s.length > 3071) return undefined;
  try {
    const j = jid(s);
    const domain = j.domain.toLowerCase();
    if (!/^[a-z0-9.-]+$/.test(domain) || domain.length > 253) return undefined;
    const local = j.local ?? '';
    return { bare: local ? `${local}@${domain}` : domain, local, domain, resource: j.resource ?? '' };
  } catch {
    return undefined;
  }
}

export function addressOf(j: ParsedJid, a: Addressing): Address {
  if (j.domain === a.domain) return { platform: a.localPlatform, id: j.bare, domain: j.domain };
  return { platform: 'xmpp', id: j.bare, domain: j.domain };
}

/** The JID of a Parley address: internal users live on the component domain. */
export function jidOf(addr: Address): string {
  return addr.id;
}

function bounded(id: string): string {
  return id.length <= MAX_ID ? id : `xh:${createHash('sha256').update(id).digest('base64url')}`;
}

export function envelopeId(senderBare: string, stanzaId: string | undefined, kind: 'x' | 'xq' = 'x'): string {
  return bounded(`${kind}:${senderBare}/${stanzaId || randomUUID()}`);
}

/** A reference in a stanza from `senderBare` to one of its own earlier stanzas. */
export function ownRef(senderBare: string, ref: string): string {
  return bounded(`x:${senderBare}/${ref}`);
}

/**
 * The stanza id to use when writing to `peerBare` about envelope `id`: the
 * peer's own stanza id for an envelope that came from it, else the id itself.
 */
export function stanzaRef(id: string, peerBare: string): string {
  for (const kind of ['x:', 'xq:']) {
    const prefix = `${kind}${peerBare}/`;
    if (id.startsWith(prefix)) return id.slice(prefix.length);
  }
  return id;
}

export function isIqEnvelopeId(id: string): boolean {
  return id.startsWith('xq:');
}
