/**
 * The envelope model's bounds and enumerations, in one place: the zod schemas
 * (envelope.ts, address.ts, richtext.ts) and the fast check for the common
 * envelopes (envelope-fast.ts) both read them, so the two cannot drift apart.
 */
export const PLATFORMS = ['teams', 'xmpp', 'sip', 'loopback'] as const;
export const PRESENCE_SHOWS = ['available', 'away', 'xa', 'dnd', 'offline'] as const;
export const TYPING_STATES = ['composing', 'paused', 'active', 'inactive', 'gone'] as const;
export const RECEIPT_STATUSES = ['delivered', 'read'] as const;
export const MARKS = ['bold', 'italic', 'strike', 'code'] as const;

/** Envelope ids and the ids they refer to (target, chatId, replyTo). */
export const ID_MAX = 256;
export const PRESENCE_STATUS_MAX = 1024;

export const ADDRESS_ID_MAX = 512;
export const DOMAIN_MAX = 253;
export const TENANT_MAX = 128;
export const NAME_MAX = 256;
/** Lower-case DNS names: the address schema lower-cases a domain before it tests it. */
export const DOMAIN_RE = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

export const MAX_TEXT = 64 * 1024;
export const MAX_INLINES = 4096;
export const MAX_BLOCKS = 1024;

/**
 * False when `s` holds a lone surrogate. Identifiers go into keys as UTF-8,
 * where every lone surrogate becomes U+FFFD: two ids that differ only there
 * would share one idempotency key, and the second message would be taken for
 * a redelivery of the first. (String.prototype.isWellFormed, ES2024, Node >= 20.)
 */
export function isWellFormed(s: string): boolean {
  return (s as string & { isWellFormed(): boolean }).isWellFormed();
}
export const NOT_WELL_FORMED = 'contains a lone surrogate (not well-formed Unicode)';
