import type { Redis } from 'ioredis';
import { addressKey, type Address } from '../../../core/address.ts';
import type { ContactRow } from './cards.ts';

/**
 * The experience's state in Redis (all under `<prefix>:teams:`):
 * - `aad:<aad object id>` / `owner:<address id>`: Teams user <-> Parley id (unique claim);
 * - `contacts:<user>`: the user's contacts view (hash: address key -> row);
 * - `target:<user>`: the current chat target; `me:<user>`: own presence;
 * - `sent:<conversation>|<activity>`: what a bot post showed (peer, envelope id);
 * - `act:<envelope id>`: where an envelope was shown (conversation, activity);
 * - `out:<conversation>|<activity>`: the envelopes a Teams user's message became;
 * - `ex:<envelope id>`: a short excerpt, for reactions and errors;
 * - `bridge:<chat id>`: external members of a bridged group chat or channel.
 * Message maps expire after `ttlSeconds`.
 */
export interface StoredContact extends ContactRow {
  since: number;
  /** The envelope id of a contact request from them, while pending-in. */
  request?: string;
}

export interface OwnPresence {
  show: 'available' | 'away' | 'dnd' | 'offline';
  status?: string;
  /** Set by the `status` command (activity does not override it). */
  explicit: boolean;
  ts: number;
}

export interface SentRecord {
  env: string;
  peer: Address;
  chatId?: string;
}

export interface OutRecord {
  to: Address;
  id: string;
}

export const MAX_CONTACTS = 2000;
export const MAX_BRIDGE_MEMBERS = 200;

export class ExperienceStore {
  private readonly p: string;

  constructor(
    private readonly redis: Redis,
    prefix: string,
    private readonly ttlSeconds: number,
  ) {
    this.p = `${prefix}:teams`;
  }

  private async json<T>(key: string): Promise<T | undefined> {
    const raw = await this.redis.get(key);
    return raw ? (JSON.parse(raw) as T) : undefined;
  }

  // --- identities

  userFor(teamsKey: string): Promise<string | null> {
    return this.redis.get(`${this.p}:aad:${teamsKey}`);
  }

  /** Claims `id` for the Teams user; false when another user holds it. */
  async claim(id: string, teamsKey: string): Promise<boolean> {
    const ok = await this.redis.set(`${this.p}:owner:${id}`, teamsKey, 'NX');
    if (ok !== 'OK' && (await this.redis.get(`${this.p}:owner:${id}`)) !== teamsKey) return false;
    await this.redis.set(`${this.p}:aad:${teamsKey}`, id);
    return true;
  }

  ownerOf(id: string): Promise<string | null> {
    return this.redis.get(`${this.p}:owner:${id}`);
  }

  // --- contacts view

  async contacts(user: string): Promise<StoredContact[]> {
    const all = await this.redis.hvals(`${this.p}:contacts:${user}`);
    return all.map((r) => JSON.parse(r) as StoredContact).sort((a, b) => (a.address.name ?? a.address.id).localeCompare(b.address.name ?? b.address.id));
  }

  async contact(user: string, peer: Pick<Address, 'platform' | 'id'>): Promise<StoredContact | undefined> {
    const raw = await this.redis.hget(`${this.p}:contacts:${user}`, addressKey(peer));
    return raw ? (JSON.parse(raw) as StoredContact) : undefined;
  }

  async putContact(user: string, c: StoredContact): Promise<boolean> {
    const key = `${this.p}:contacts:${user}`;
    const field = addressKey(c.address);
    if (!(await this.redis.hexists(key, field)) && (await this.redis.hlen(key)) >= MAX_CONTACTS) return false;
    await this.redis.hset(key, field, JSON.stringify(c));
    return true;
  }

  async dropContact(user: string, peer: Pick<Address, 'platform' | 'id'>): Promise<void> {
    await this.redis.hdel(`${this.p}:contacts:${user}`, addressKey(peer));
  }

  // --- current target and own presence

  target(user: string): Promise<Address | undefined> {
    return this.json<Address>(`${this.p}:target:${user}`);
  }

  async setTarget(user: string, a: Address): Promise<void> {
    await this.redis.set(`${this.p}:target:${user}`, JSON.stringify(a));
  }

  me(user: string): Promise<OwnPresence | undefined> {
    return this.json<OwnPresence>(`${this.p}:me:${user}`);
  }

  /** Sets own presence; with `onlyIfUnset`, only when none was stored yet (true when it was set). */
  async setMe(user: string, p: OwnPresence, onlyIfUnset = false): Promise<boolean> {
    const key = `${this.p}:me:${user}`;
    if (onlyIfUnset) return (await this.redis.set(key, JSON.stringify(p), 'NX')) === 'OK';
    await this.redis.set(key, JSON.stringify(p));
    return true;
  }

  // --- message maps

  async recordPost(conversation: string, activityId: string, env: string, sent: SentRecord | undefined, excerpt: string | undefined): Promise<void> {
    const m = this.redis.multi();
    m.set(`${this.p}:act:${env}`, JSON.stringify({ conversation, activityId }), 'EX', this.ttlSeconds);
    if (sent) m.set(`${this.p}:sent:${conversation}|${activityId}`, JSON.stringify(sent), 'EX', this.ttlSeconds);
    if (excerpt) m.set(`${this.p}:ex:${env}`, excerpt, 'EX', this.ttlSeconds);
    await m.exec();
  }

  sent(conversation: string, activityId: string): Promise<SentRecord | undefined> {
    return this.json<SentRecord>(`${this.p}:sent:${conversation}|${activityId}`);
  }

  shownAt(env: string): Promise<{ conversation: string; activityId: string } | undefined> {
    return this.json(`${this.p}:act:${env}`);
  }

  async recordOut(conversation: string, activityId: string, out: readonly OutRecord[], excerpt: string): Promise<void> {
    if (out.length === 0) return;
    const m = this.redis.multi();
    m.set(`${this.p}:out:${conversation}|${activityId}`, JSON.stringify(out), 'EX', this.ttlSeconds);
    for (const o of out) m.set(`${this.p}:ex:${o.id}`, excerpt, 'EX', this.ttlSeconds);
    await m.exec();
  }

  async out(conversation: string, activityId: string): Promise<OutRecord[]> {
    return (await this.json<OutRecord[]>(`${this.p}:out:${conversation}|${activityId}`)) ?? [];
  }

  async excerpt(env: string): Promise<string | undefined> {
    return (await this.redis.get(`${this.p}:ex:${env}`)) ?? undefined;
  }

  // --- bridged group chats

  async bridge(chatId: string): Promise<Address[]> {
    const all = await this.redis.hvals(`${this.p}:bridge:${chatId}`);
    return all.map((r) => JSON.parse(r) as Address).sort((a, b) => addressKey(a).localeCompare(addressKey(b)));
  }

  async addToBridge(chatId: string, a: Address): Promise<'added' | 'present' | 'full'> {
    const key = `${this.p}:bridge:${chatId}`;
    if (await this.redis.hexists(key, addressKey(a))) return 'present';
    if ((await this.redis.hlen(key)) >= MAX_BRIDGE_MEMBERS) return 'full';
    await this.redis.hset(key, addressKey(a), JSON.stringify(a));
    return 'added';
  }

  async dropFromBridge(chatId: string, a: Address): Promise<void> {
    await this.redis.hdel(`${this.p}:bridge:${chatId}`, addressKey(a));
  }
}
