import type { Logger } from 'pino';
import type { Address } from '../../../core/address.ts';
import type { UserDirectory } from '../../../core/directory.ts';
import type { AddressRules } from './addresses.ts';
import type { FileLinks } from './file-links.ts';
import type { ExperienceStore } from './store.ts';
import type { BoundedMap } from './users.ts';

/** What the inbound and outbound halves of the experience share. */
export interface ExperienceContext {
  store: ExperienceStore;
  directory: UserDirectory;
  rules: AddressRules;
  /** Domain of new Teams users' addresses. */
  domain: string;
  /** The XMPP room service's domain: a bridged chat's XMPP members are reached through one room. */
  roomsDomain: string | undefined;
  files: FileLinks;
  now(): number;
  log: Logger | undefined;
  recent: BoundedMap<string, { address: Address; name: string | undefined; at: number }>;
  /** Users whose presence is known to be set (activity no longer needs to set it). */
  presenceSet: BoundedMap<string, true>;
}

/** The address a bridged chat's XMPP room has (the XMPP connector serves it). */
export function roomAddress(ctx: ExperienceContext, chatId: string): Address | undefined {
  return ctx.roomsDomain ? { platform: 'xmpp', id: chatId, domain: ctx.roomsDomain } : undefined;
}

/** Group chats and channels: the conversation id without a channel thread's `;messageid=`. */
export function groupChatId(conversationId: string): string {
  return conversationId.replace(/;messageid=\d+$/, '');
}
