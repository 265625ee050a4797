import { createHash, randomUUID } from 'node:crypto';
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
  readonly bare: string;
  readonly local: string;
  readonly domain: string;
  readonly resource: string;
}

const LOCAL_FORBIDDEN = /["&'/:<>@\s]/;
const DOMAIN_RE = /^[a-z0-9.-]+$/;

/**
 * RFC 7622 addresses, strictly: a local part without the characters the RFC
 * forbids there, an ASCII DNS domain (IDNs arrive in their A-label form from
 * servers), any resource. Local parts and domains compare case-insensitively,
 * so both are lowercased. No XEP-0106 unescaping: ids stay as sent.
 */
export function parseJid(s: string | undefined): ParsedJid | undefined {
  if (!s) return undefined;
  // The same few JIDs come back stanza after stanza: parse each once (a bounded, frozen cache).
  const hit = jidCache.get(s);
  if (hit !== undefined) return hit ?? undefined;
  const parsed = parseJidUncached(s);
  if (s.length <= 512) {
    if (jidCache.size >= JID_CACHE_MAX) jidCache.clear();
    jidCache.set(s, parsed ? Object.freeze(parsed) : null);
  }
  return parsed;
}

const JID_CACHE_MAX = 10_000;
const jidCache = new Map<string, Readonly<ParsedJid> | null>();

function parseJidUncached(s: string): ParsedJid | undefined {
  if (s.length > 3071) return undefined;
  const slash = s.indexOf('/');
  const resource = slash >= 0 ? s.slice(slash + 1) : '';
  const head = slash >= 0 ? s.slice(0, slash) : s;
  const at = head.indexOf('@');
  const local = at >= 0 ? head.slice(0, at).toLowerCase() : '';
  const domain = (at >= 0 ? head.slice(at + 1) : head).toLowerCase().replace(/\.$/, '');
  if (at >= 0 && (local.length === 0 || local.length > 1023 || LOCAL_FORBIDDEN.test(local))) return undefined;
  if (!domain || domain.length > 253 || !DOMAIN_RE.test(domain) || domain.startsWith('.') || domain.includes('..')) return undefined;
  if ((slash >= 0 && resource.length === 0) || resource.length > 1023) return undefined;
  return { bare: local ? `${local}@${domain}` : domain, local, domain, resource };
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

/** Stanza ids Parley gives envelopes that did not come from XMPP: a reference back is recognisable. */
export const OWN_ID_PREFIX = 'parley:';

/**
 * The stanza id to use when writing to `peerBare` about envelope `id`: the
 * peer's own stanza id for an envelope that came from it, else the envelope
 * id behind Parley's prefix.
 */
export function stanzaRef(id: string, peerBare: string): string {
  for (const kind of ['x:', 'xq:']) {
    const prefix = `${kind}${peerBare}/`;
    if (id.startsWith(prefix)) return id.slice(prefix.length);
  }
  return `${OWN_ID_PREFIX}${id}`;
}

/** The envelope id a stanza id from `senderBare` refers to: one of Parley's, or one of the sender's own. */
export function resolveRef(ref: string, senderBare: string): string {
  return ref.startsWith(OWN_ID_PREFIX) ? ref.slice(OWN_ID_PREFIX.length) : ownRef(senderBare, ref);
}

export function isIqEnvelopeId(id: string): boolean {
  return id.startsWith('xq:');
}
