import { createHash } from 'node:crypto';

/**
 * Envelope ids for what Teams users do. Deterministic from the activity, so a
 * redelivered activity makes the same envelopes (the hub drops duplicates by
 * id), and a later edit, delete or reaction can name them without a lookup.
 * The prefix says what kind of thing it was: `t:` messages and requests,
 * `tp:` presence, `ty:` typing, `tf:` answers Parley gave on a user's behalf.
 */
export type IdKind = 't' | 'tp' | 'ty' | 'tf';
const MAX_ID = 256;

function h(s: string, n = 16): string {
  return createHash('sha256').update(s).digest('hex').slice(0, n);
}

export function bounded(id: string): string {
  return id.length <= MAX_ID ? id : `th:${createHash('sha256').update(id).digest('base64url')}`;
}

/** The id of what activity `activityId` of conversation `conversationId` became (`part` for one of several). */
export function activityEnvelopeId(kind: IdKind, conversationId: string, activityId: string, part?: string): string {
  return bounded(`${kind}:${h(conversationId)}/${activityId}${part ? `#${part}` : ''}`);
}

/** Whether an envelope id is one the experience made from a user's turn (the turn's replies reported its fate). */
export function isTurnId(id: string | undefined, kinds: readonly IdKind[] = ['t']): boolean {
  return !!id && kinds.some((k) => id.startsWith(`${k}:`));
}

export function followUpId(of: string, what: string): string {
  return bounded(`tf:${h(of, 24)}#${what}`);
}
