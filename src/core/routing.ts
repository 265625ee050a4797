import { addressKey } from './address.ts';
import type { Envelope, EnvelopeType } from './envelope.ts';

/** Envelope types owned by the internal user's session actor; all others belong to a chat actor. */
const USER_TYPES: ReadonlySet<EnvelopeType> = new Set([
  'presence', 'contact-request', 'contact-response', 'profile-request', 'profile-response',
]);

/** Chat session id: the group conversation, or the unordered pair of 1:1 parties. */
export function chatIdFor(env: Pick<Envelope, 'from' | 'to' | 'chatId'>): string {
  if (env.chatId) return env.chatId;
  const a = addressKey(env.from);
  const b = addressKey(env.to);
  // Length-prefixed so that no pair of ids can spell another pair.
  return a < b ? `p:${a.length}:${a}|${b}` : `p:${b.length}:${b}|${a}`;
}

/** Which actor processes the envelope: per-chat order for conversations, per-user for sessions. */
export function actorKeyFor(env: Envelope, localDomains: ReadonlySet<string>): string {
  if (USER_TYPES.has(env.type)) {
    const internal = localDomains.has(env.from.domain) || !localDomains.has(env.to.domain) ? env.from : env.to;
    return `user:${addressKey(internal)}`;
  }
  // Group ids are namespaced apart from pair keys (which start with `p:`).
  return env.chatId ? `chat:g:${env.chatId}` : `chat:${chatIdFor(env)}`;
}
