import type { Envelope, EnvelopeType } from './envelope.ts';

/** A content-free record of one processed message: never bodies, names or statuses. */
export const METADATA_TYPES = [
  'im', 'presence', 'typing', 'reaction', 'edit', 'delete', 'file', 'contact', 'profile', 'invite', 'receipt', 'error',
] as const;
export type MetadataType = (typeof METADATA_TYPES)[number];
export const OUTCOMES = ['delivered', 'failed', 'blocked'] as const;
export type Outcome = (typeof OUTCOMES)[number];
export const DIRECTIONS = ['inbound', 'outbound', 'internal', 'external'] as const;
export type Direction = (typeof DIRECTIONS)[number];

export interface MetadataEvent {
  ts: number;
  tenant: string;
  messageId: string;
  chatId: string;
  type: MetadataType;
  sender: string;
  receiver: string;
  senderDomain: string;
  receiverDomain: string;
  senderPlatform: string;
  receiverPlatform: string;
  direction: Direction;
  outcome: Outcome;
  /** Error code for failed and blocked outcomes, '' otherwise. */
  reason: string;
}

const TYPE_MAP: Record<EnvelopeType, MetadataType> = {
  im: 'im',
  presence: 'presence',
  typing: 'typing',
  reaction: 'reaction',
  edit: 'edit',
  delete: 'delete',
  file: 'file',
  'contact-request': 'contact',
  'contact-response': 'contact',
  'profile-request': 'profile',
  'profile-response': 'profile',
  invite: 'invite',
  receipt: 'receipt',
  error: 'error',
};

export interface MetadataContext {
  localDomains: ReadonlySet<string>;
  defaultTenant: string;
}

export function metadataFor(
  env: Envelope,
  chatId: string,
  outcome: Outcome,
  reason: string,
  ctx: MetadataContext,
  now = Date.now(),
): MetadataEvent {
  const fromLocal = ctx.localDomains.has(env.from.domain);
  const toLocal = ctx.localDomains.has(env.to.domain);
  const direction: Direction =
    fromLocal && toLocal ? 'internal' : fromLocal ? 'outbound' : toLocal ? 'inbound' : 'external';
  const tenant = (fromLocal ? env.from.tenant : undefined) ?? (toLocal ? env.to.tenant : undefined) ?? ctx.defaultTenant;
  return {
    ts: now,
    tenant,
    messageId: env.id,
    chatId,
    type: TYPE_MAP[env.type],
    sender: env.from.id,
    receiver: env.to.id,
    senderDomain: env.from.domain,
    receiverDomain: env.to.domain,
    senderPlatform: env.from.platform,
    receiverPlatform: env.to.platform,
    direction,
    outcome,
    reason,
  };
}
