import type { Platform } from './address.ts';

/**
 * The organisation's users Parley knows (Teams users, once they have talked to
 * the bot): who they are, for the admin API, profile requests from external
 * contacts, and the Teams connector's address mapping.
 */
export interface DirectoryUser {
  /** Parley address id, e.g. `alice@parley.local` (also the user's JID / SIP AOR). */
  id: string;
  platform: Platform;
  domain: string;
  tenant?: string;
  name?: string;
  email?: string;
  /** Teams: user principal name. */
  upn?: string;
  /** Teams: AAD object id and channel account id (`29:...`). */
  aadObjectId?: string;
  channelId?: string;
  firstSeen: number;
  lastSeen: number;
}

export interface DirectoryPage {
  total: number;
  users: DirectoryUser[];
}

export interface UserDirectory {
  get(id: string): Promise<DirectoryUser | undefined>;
  /** Users whose id, name, email or UPN contains `query` (case-insensitive), ordered by id. */
  list(opts: { query?: string; offset: number; limit: number }): Promise<DirectoryPage>;
  /** Creates or merges (fields given win; firstSeen kept). */
  upsert(user: Omit<DirectoryUser, 'firstSeen' | 'lastSeen'> & { seenAt?: number }): Promise<DirectoryUser>;
}
