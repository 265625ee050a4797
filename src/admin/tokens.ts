import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { TokenScope } from './schemas.ts';

export interface ApiToken {
  id: string;
  name: string;
  scopes: TokenScope[];
  createdBy: string;
  createdAt: number;
  expiresAt?: number;
  lastUsedAt?: number;
  /** SHA-256 of the secret part; the secret itself is shown once and never stored. */
  hash: string;
}

const sha256 = (s: string): Buffer => createHash('sha256').update(s).digest();

/** Scoped API tokens for automation: `ptk_<id>.<secret>`, stored hashed. */
export class ApiTokenStore {
  private readonly hash: string;

  constructor(
    private readonly redis: Redis,
    prefix: string,
  ) {
    this.hash = `${prefix}:admin:tokens`;
  }

  async create(t: Omit<ApiToken, 'id' | 'createdAt' | 'hash' | 'lastUsedAt'>): Promise<{ token: string; info: ApiToken }> {
    const id = randomBytes(9).toString('base64url');
    const secret = randomBytes(32).toString('base64url');
    const info: ApiToken = { ...t, id, createdAt: Date.now(), hash: sha256(secret).toString('hex') };
    await this.redis.hset(this.hash, id, JSON.stringify(info));
    return { token: `ptk_${id}.${secret}`, info };
  }

  async list(): Promise<ApiToken[]> {
    return (await this.redis.hvals(this.hash)).map((r) => JSON.parse(r) as ApiToken).sort((a, b) => a.createdAt - b.createdAt);
  }

  async remove(id: string): Promise<boolean> {
    return (await this.redis.hdel(this.hash, id)) === 1;
  }

  /** The token's record when the bearer value is valid and not expired. */
  async verify(bearer: string, now = Date.now()): Promise<ApiToken | undefined> {
    const m = /^ptk_([A-Za-z0-9_-]{12})\.([A-Za-z0-9_-]{43})$/.exec(bearer);
    if (!m) return undefined;
    const raw = await this.redis.hget(this.hash, m[1] as string);
    if (!raw) return undefined;
    const info = JSON.parse(raw) as ApiToken;
    if (!timingSafeEqual(sha256(m[2] as string), Buffer.from(info.hash, 'hex'))) return undefined;
    if (info.expiresAt !== undefined && now >= info.expiresAt) return undefined;
    // Coarse last-use time: one write a minute at most.
    if (!info.lastUsedAt || now - info.lastUsedAt > 60_000) {
      await this.redis.hset(this.hash, info.id, JSON.stringify({ ...info, lastUsedAt: now }));
    }
    return info;
  }
}
