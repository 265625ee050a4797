import type { Activity } from 'botbuilder';
import type { Address } from '../../../core/address.ts';
import type { UserDirectory } from '../../../core/directory.ts';
import type { TeamsMember } from '../contract.ts';
import { preferredLocal } from './addresses.ts';
import type { ExperienceStore } from './store.ts';

/**
 * Who a Teams user is in Parley: `<local>@<domain>` on platform `teams`, the
 * local part taken from their UPN (or email, or name) and made unique. The
 * mapping from their AAD object id is kept in Redis; the directory record
 * (name, email, UPN, last seen) is refreshed on every activity.
 */
export interface UserResolver {
  store: ExperienceStore;
  directory: UserDirectory;
  domain: string;
  /** Recently resolved senders (the id mapping never changes; lastSeen is written at most once a minute). */
  recent: BoundedMap<string, { address: Address; name: string | undefined; at: number }>;
}

const MAX_SUFFIX = 50;
const REFRESH_MS = 60_000;

/** A Map that forgets its oldest entries beyond `max`. */
export class BoundedMap<K, V> extends Map<K, V> {
  constructor(private readonly max: number) {
    super();
  }

  override set(k: K, v: V): this {
    if (!this.has(k) && this.size >= this.max) {
      const oldest = this.keys().next();
      if (!oldest.done) this.delete(oldest.value);
    }
    return super.set(k, v);
  }
}

export function teamsKeyOf(from: Activity['from']): string {
  return from.aadObjectId ? from.aadObjectId.toLowerCase() : `ch:${from.id}`;
}

export function tenantOf(a: Readonly<Activity>): string | undefined {
  const cd = a.channelData as { tenant?: { id?: unknown } } | undefined;
  const t = a.conversation?.tenantId ?? (typeof cd?.tenant?.id === 'string' ? cd.tenant.id : undefined);
  return t && t.length <= 128 ? t : undefined;
}

async function allocate(r: UserResolver, teamsKey: string, m: TeamsMember): Promise<string> {
  const base = preferredLocal(m);
  for (let n = 1; n <= MAX_SUFFIX; n++) {
    const id = `${n === 1 ? base : `${base}.${n}`}@${r.domain}`;
    if (await r.store.claim(id, teamsKey)) return id;
  }
  const id = `${base}.${teamsKey.replace(/[^a-z0-9]/gi, '').slice(0, 8).toLowerCase()}@${r.domain}`;
  if (await r.store.claim(id, teamsKey)) return id;
  throw new Error(`no free Parley id for Teams user ${teamsKey}`);
}

/** The sender's Parley address; asks TeamsInfo (`member()`) on first sight or when `refresh` is set. */
export async function resolveSender(
  r: UserResolver,
  a: Readonly<Activity>,
  member: () => Promise<TeamsMember | undefined>,
  now: number,
  refresh: boolean,
): Promise<{ address: Address }> {
  const teamsKey = teamsKeyOf(a.from);
  const hit = r.recent.get(teamsKey);
  if (hit && !refresh && now - hit.at < REFRESH_MS && hit.name === a.from.name) return { address: hit.address };
  let id = await r.store.userFor(teamsKey);
  const m = !id || refresh ? await member().catch(() => undefined) : undefined;
  if (!id) id = await allocate(r, teamsKey, m ?? { id: a.from.id, ...(a.from.name ? { name: a.from.name } : {}), ...(a.from.aadObjectId ? { aadObjectId: a.from.aadObjectId } : {}) });
  const tenant = tenantOf(a);
  const name = (m?.name ?? a.from.name)?.slice(0, 256) || undefined;
  const user = await r.directory.upsert({
    id,
    platform: 'teams',
    domain: r.domain,
    ...(tenant ? { tenant } : {}),
    ...(name ? { name } : {}),
    ...(m?.email ? { email: m.email.slice(0, 320) } : {}),
    ...(m?.userPrincipalName ? { upn: m.userPrincipalName.slice(0, 320) } : {}),
    ...(a.from.aadObjectId ? { aadObjectId: a.from.aadObjectId } : {}),
    channelId: a.from.id,
    seenAt: now,
  });
  const address: Address = { platform: 'teams', id, domain: user.domain };
  if (user.tenant) address.tenant = user.tenant;
  if (user.name) address.name = user.name;
  r.recent.set(teamsKey, { address, name: a.from.name, at: now });
  return { address };
}
