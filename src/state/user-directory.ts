import type { Redis } from 'ioredis';
import type { DirectoryPage, DirectoryUser, UserDirectory } from '../core/directory.ts';

const MAX_SCAN = 100_000;

/**
 * The user directory in Redis: one hash field per user (JSON) and a sorted set
 * of ids for ordered paging. Search scans the ids' records in pages; fine for
 * an organisation's tens of thousands of users.
 */
export class RedisUserDirectory implements UserDirectory {
  private readonly hash: string;
  private readonly index: string;

  constructor(
    private readonly redis: Redis,
    prefix: string,
  ) {
    this.hash = `${prefix}:dir:users`;
    this.index = `${prefix}:dir:ids`;
  }

  async get(id: string): Promise<DirectoryUser | undefined> {
    const raw = await this.redis.hget(this.hash, id);
    return raw ? (JSON.parse(raw) as DirectoryUser) : undefined;
  }

  async upsert(user: Omit<DirectoryUser, 'firstSeen' | 'lastSeen'> & { seenAt?: number }): Promise<DirectoryUser> {
    const { seenAt, ...fields } = user;
    const now = seenAt ?? Date.now();
    const prev = await this.get(user.id);
    const defined = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined));
    const next: DirectoryUser = { ...prev, ...defined, firstSeen: prev?.firstSeen ?? now, lastSeen: Math.max(now, prev?.lastSeen ?? 0) } as DirectoryUser;
    await this.redis.multi().hset(this.hash, user.id, JSON.stringify(next)).zadd(this.index, 0, user.id).exec();
    return next;
  }

  async list(opts: { query?: string; offset: number; limit: number }): Promise<DirectoryPage> {
    const q = opts.query?.trim().toLowerCase();
    if (!q) {
      const [total, ids] = await Promise.all([
        this.redis.zcard(this.index),
        this.redis.zrange(this.index, opts.offset, opts.offset + opts.limit - 1),
      ]);
      return { total, users: await this.many(ids) };
    }
    const matches: DirectoryUser[] = [];
    const PAGE = 1000;
    for (let start = 0; start < MAX_SCAN; start += PAGE) {
      const ids = await this.redis.zrange(this.index, start, start + PAGE - 1);
      if (ids.length === 0) break;
      for (const u of await this.many(ids)) {
        const hay = [u.id, u.name, u.email, u.upn].filter(Boolean).join('\n').toLowerCase();
        if (hay.includes(q)) matches.push(u);
      }
    }
    return { total: matches.length, users: matches.slice(opts.offset, opts.offset + opts.limit) };
  }

  private async many(ids: readonly string[]): Promise<DirectoryUser[]> {
    if (ids.length === 0) return [];
    const raws = await this.redis.hmget(this.hash, ...ids);
    return raws.flatMap((r) => (r ? [JSON.parse(r) as DirectoryUser] : []));
  }
}
