import { z } from 'zod';
import { addressSchema } from './address.ts';
import { isCanonicalEnvelope } from './envelope-fast.ts';
import { ERROR_CODES, EnvelopeError } from './errors.ts';
import { ID_MAX, isWellFormed, NOT_WELL_FORMED, PRESENCE_SHOWS, PRESENCE_STATUS_MAX, RECEIPT_STATUSES, TYPING_STATES } from './limits.ts';
import { richTextSchema } from './richtext.ts';

export { PRESENCE_SHOWS, TYPING_STATES };

/**
 * The canonical message model. Every connector translates its protocol to and
 * from this union; nothing protocol-specific reaches the actors.
 */
const id = z.string().min(1).max(ID_MAX).refine(isWellFormed, NOT_WELL_FORMED);

const base = {
  /** Globally unique id given by the ingress connector (or the platform). */
  id,
  /** Milliseconds since the epoch. */
  ts: z.number().int().nonnegative(),
  from: addressSchema,
  to: addressSchema,
  /** Conversation this belongs to when it is not a 1:1 chat (channel, group, room). */
  chatId: id.optional(),
  /** Id of the message this one quotes or answers (reply-by-quote). */
  replyTo: id.optional(),
};

export const profileSchema = z.object({
  displayName: z.string().max(256).optional(),
  email: z.string().max(320).optional(),
  title: z.string().max(256).optional(),
  organization: z.string().max(256).optional(),
  phone: z.string().max(64).optional(),
  avatarUrl: z.string().max(2048).optional(),
});
export type Profile = z.infer<typeof profileSchema>;

/** `isCanonicalEnvelope` (envelope-fast.ts) mirrors the im, typing, receipt and presence shapes; a change here goes there too, and its test compares the two. */
export const envelopeSchema = z.discriminatedUnion('type', [
  z.object({
    ...base,
    type: z.literal('im'),
    body: richTextSchema,
    /** The sender asked to be told when the message reaches the recipient's platform. */
    receiptRequested: z.boolean().optional(),
  }),
  z.object({
    ...base,
    type: z.literal('presence'),
    show: z.enum(PRESENCE_SHOWS),
    status: z.string().max(PRESENCE_STATUS_MAX).optional(),
  }),
  z.object({ ...base, type: z.literal('typing'), state: z.enum(TYPING_STATES) }),
  z.object({
    ...base,
    type: z.literal('reaction'),
    target: id,
    emoji: z.string().min(1).max(64),
    action: z.enum(['add', 'remove']),
  }),
  z.object({ ...base, type: z.literal('edit'), target: id, body: richTextSchema }),
  z.object({ ...base, type: z.literal('delete'), target: id }),
  z.object({
    ...base,
    type: z.literal('file'),
    name: z.string().min(1).max(512),
    size: z.number().int().nonnegative(),
    mime: z.string().max(255),
    url: z.url({ protocol: /^https?$/ }).max(4096),
    expiresAt: z.number().int().optional(),
    receiptRequested: z.boolean().optional(),
  }),
  z.object({ ...base, type: z.literal('contact-request'), message: z.string().max(1024).optional() }),
  z.object({
    ...base,
    type: z.literal('contact-response'),
    decision: z.enum(['accepted', 'declined', 'removed']),
  }),
  z.object({ ...base, type: z.literal('profile-request') }),
  z.object({ ...base, type: z.literal('profile-response'), profile: profileSchema }),
  z.object({
    ...base,
    type: z.literal('invite'),
    room: z.object({ id, name: z.string().max(256).optional() }),
    reason: z.string().max(1024).optional(),
  }),
  z.object({ ...base, type: z.literal('receipt'), target: id, status: z.enum(RECEIPT_STATUSES) }),
  z.object({
    ...base,
    type: z.literal('error'),
    code: z.enum(ERROR_CODES),
    message: z.string().max(2048),
    /** Id of the envelope that failed. */
    target: id.optional(),
    retryable: z.boolean(),
  }),
]);

export type Envelope = z.infer<typeof envelopeSchema>;
export type EnvelopeType = Envelope['type'];
export type EnvelopeOf<T extends EnvelopeType> = Extract<Envelope, { type: T }>;

/** How long after it was sent a typing notification is still worth showing. */
export const TYPING_TTL_MS = 30_000;

/**
 * Envelopes worth delivering only now (typing): never retried, dropped once
 * older than TYPING_TTL_MS, and a failure is not reported back to the sender
 * (an error card for a typing indicator would be noise, a late one wrong).
 */
export function isEphemeral(env: Envelope): boolean {
  return env.type === 'typing';
}

export function isStale(env: Envelope, now: number): boolean {
  return isEphemeral(env) && now - env.ts > TYPING_TTL_MS;
}

const MAX_ISSUES_SHOWN = 20;

/** Validates untrusted input; throws EnvelopeError listing every problem with its path. */
export function parseEnvelope(input: unknown): Envelope {
  // The common envelopes, already in canonical form, are taken as they are: zod would return an equal copy.
  if (isCanonicalEnvelope(input)) return input;
  const r = envelopeSchema.safeParse(input);
  if (r.success) return r.data;
  const issues = r.error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`);
  const shown = issues.slice(0, MAX_ISSUES_SHOWN);
  if (issues.length > MAX_ISSUES_SHOWN) shown.push(`...and ${issues.length - MAX_ISSUES_SHOWN} more`);
  throw new EnvelopeError(shown);
}
