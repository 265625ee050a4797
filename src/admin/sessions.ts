import { createHash, randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Role } from './schemas.ts';

export type SessionStage = 'totp' | 'enrol' | 'active';

export interface SessionData {
  /** Account id (local) or `oidc:<issuer subject>`. */
  userId: string;
  username: string;
  name?: string;
  role: Role;
  source: 'local' | 'oidc';
  stage: SessionStage;
  csrf: string;
  createdAt: number;
  expiresAt: number;
  lastSeen: number;
}

export interface SessionTimes {
  ttlMs: number;
  idleMs: number;
}

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

/**
 * Admin sessions in Redis. The cookie holds a random 256-bit id; Redis keys
 * hold its hash, so a copy of the database does not hand out live sessions.
 * Every use slides the idle timeout, never past the absolute expiry.
 */
export class SessionStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly times: SessionTimes,
  ) {}

  private key(id: string): string {
    return `${this.prefix}:admin:session:${sha256(id)}`;
  }

  async create(data: Omit<SessionData, 'csrf' | 'createdAt' | 'expiresAt' | 'lastSeen'>, now = Date.now()): Promise<{ id: string; session: SessionData }> {
    const id = randomBytes(32).toString('base64url');
    const session: SessionData = { ...data, csrf: randomBytes(32).toString('base64url'), createdAt: now, expiresAt: now + this.times.ttlMs, lastSeen: now };
    await this.redis.set(this.key(id), JSON.stringify(session), 'PX', this.times.idleMs);
    return { id, session };
  }

  /** The live session for a cookie value, touched; undefined when unknown, idle too long or expired. */
  async touch(id: string, now = Date.now()): Promise<SessionData | undefined> {
    if (!/^[A-Za-z0-9_-]{43}$/.test(id)) return undefined;
    const key = this.key(id);
    const raw = await this.redis.get(key);
    if (!raw) return undefined;
    const s = JSON.parse(raw) as SessionData;
    if (now >= s.expiresAt || now - s.lastSeen >= this.times.idleMs) {
      await this.redis.del(key);
      return undefined;
    }
    const next = { ...s, lastSeen: now };
    await this.redis.set(key, JSON.stringify(next), 'PX', Math.max(1, Math.min(this.times.idleMs, s.expiresAt - now)));
    return next;
  }

  async update(id: string, session: SessionData): Promise<void> {
    const ttl = Math.max(1, Math.min(this.times.idleMs, session.expiresAt - Date.now()));
    await this.redis.set(this.key(id), JSON.stringify(session), 'PX', ttl);
  }

  async destroy(id: string): Promise<void> {
    await this.redis.del(this.key(id));
  }

  idleExpiresAt(s: SessionData): number {
    return Math.min(s.expiresAt, s.lastSeen + this.times.idleMs);
  }
}
