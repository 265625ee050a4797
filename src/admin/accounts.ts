import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Role } from './schemas.ts';

/** A local account. The hash and TOTP secret never leave the server. */
export interface Account {
  id: string;
  username: string;
  name?: string;
  role: Role;
  passwordHash: string;
  /** Confirmed TOTP secret (base32). */
  totpSecret?: string;
  /** Secret handed out by enrolment, waiting for a first code. */
  totpPending?: string;
  /** Last accepted TOTP time step: a code is good once. */
  totpLastStep?: number;
  createdAt: number;
}

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

/**
 * Local accounts, the one-time setup token, and login throttling in Redis.
 * Usernames are case-insensitive (stored lower-cased as the hash field).
 */
export class AccountStore {
  private readonly accounts: string;
  private readonly setupKey: string;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {
    this.accounts = `${prefix}:admin:accounts`;
    this.setupKey = `${prefix}:admin:setup-token`;
  }

  async get(username: string): Promise<Account | undefined> {
    const raw = await this.redis.hget(this.accounts, username.toLowerCase());
    return raw ? (JSON.parse(raw) as Account) : undefined;
  }

  async byId(id: string): Promise<Account | undefined> {
    return (await this.list()).find((a) => a.id === id);
  }

  async list(): Promise<Account[]> {
    const all = await this.redis.hvals(this.accounts);
    return all.map((r) => JSON.parse(r) as Account).sort((a, b) => a.username.localeCompare(b.username));
  }

  async count(): Promise<number> {
    return this.redis.hlen(this.accounts);
  }

  /** false when the username is taken. */
  async create(a: Omit<Account, 'id' | 'createdAt'>): Promise<Account | undefined> {
    const account: Account = { ...a, id: randomUUID(), createdAt: Date.now() };
    const ok = await this.redis.hsetnx(this.accounts, a.username.toLowerCase(), JSON.stringify(account));
    return ok === 1 ? account : undefined;
  }

  async save(a: Account): Promise<void> {
    await this.redis.hset(this.accounts, a.username.toLowerCase(), JSON.stringify(a));
  }

  async remove(username: string): Promise<boolean> {
    return (await this.redis.hdel(this.accounts, username.toLowerCase())) === 1;
  }

  /** Issues a setup token when no account exists yet (kept until used); undefined once there are accounts. */
  async setupToken(): Promise<string | undefined> {
    if ((await this.count()) > 0) {
      await this.redis.del(this.setupKey);
      return undefined;
    }
    const token = `setup_${randomBytes(24).toString('base64url')}`;
    await this.redis.set(this.setupKey, sha256(token));
    return token;
  }

  async setupPending(): Promise<boolean> {
    return (await this.redis.exists(this.setupKey)) === 1 && (await this.count()) === 0;
  }

  /** Consumes the setup token atomically: true for exactly one caller with the right token. */
  async consumeSetupToken(token: string): Promise<boolean> {
    const stored = await this.redis.get(this.setupKey);
    if (!stored) return false;
    const given = Buffer.from(sha256(token), 'hex');
    if (!timingSafeEqual(given, Buffer.from(stored, 'hex'))) return false;
    const deleted = await this.redis.eval(
      "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end",
      1,
      this.setupKey,
      stored,
    );
    return deleted === 1;
  }

  // ---- throttling ----

  /**
   * Counts one attempt in this minute's windows (per username, per client
   * address, and overall); false when any is over its limit. The per-address
   * window stops one client spraying many usernames; the overall one caps a
   * spray spread over many addresses. No address (inject()): no per-address window.
   */
  async allowAttempt(username: string, client: string | undefined, limit: number): Promise<boolean> {
    const minute = Math.floor(Date.now() / 60_000);
    const keys = [
      `${this.prefix}:admin:rate:all:${minute}`,
      `${this.prefix}:admin:rate:u:${sha256(username.toLowerCase())}:${minute}`,
      ...(client === undefined ? [] : [`${this.prefix}:admin:rate:ip:${sha256(client)}:${minute}`]),
    ];
    const m = this.redis.multi();
    for (const k of keys) m.incr(k).expire(k, 120);
    const counts = ((await m.exec()) ?? []).filter((_, i) => i % 2 === 0).map(([, n]) => Number(n));
    const [overall = 0, ...windows] = counts;
    return overall <= limit * 20 && windows.every((n) => n <= limit);
  }

  async lockedUntil(username: string): Promise<number | undefined> {
    const ttl = await this.redis.pttl(this.lockKey(username));
    return ttl > 0 ? Date.now() + ttl : undefined;
  }

  /** Records a failure; returns the lock's end when this failure locks the account. */
  async recordFailure(username: string, maxFailures: number, lockoutMs: number): Promise<number | undefined> {
    const key = `${this.prefix}:admin:fail:${sha256(username.toLowerCase())}`;
    const res = await this.redis.multi().incr(key).pexpire(key, lockoutMs).exec();
    const failures = Number(res?.[0]?.[1] ?? 0);
    if (failures < maxFailures) return undefined;
    await this.redis.multi().set(this.lockKey(username), '1', 'PX', lockoutMs).del(key).exec();
    return Date.now() + lockoutMs;
  }

  async clearFailures(username: string): Promise<void> {
    await this.redis.del(`${this.prefix}:admin:fail:${sha256(username.toLowerCase())}`);
  }

  private lockKey(username: string): string {
    return `${this.prefix}:admin:lock:${sha256(username.toLowerCase())}`;
  }
}
