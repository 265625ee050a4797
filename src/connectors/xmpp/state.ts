import type { Redis } from 'ioredis';
import { RedisScript } from '../../state/script.ts';

const TTL = 30 * 86_400;

/** Replaces a set and returns its previous members. */
const SWAP_SET = new RedisScript(`
local old = redis.call('SMEMBERS', KEYS[1])
redis.call('DEL', KEYS[1])
if #ARGV > 1 then
  for i = 2, #ARGV do redis.call('SADD', KEYS[1], ARGV[i]) end
  redis.call('EXPIRE', KEYS[1], ARGV[1])
end
return old`);

/** Adds or removes one member and returns the set after the change. */
const CHANGE_SET = new RedisScript(`
if ARGV[1] == 'add' then redis.call('SADD', KEYS[1], ARGV[2]) else redis.call('SREM', KEYS[1], ARGV[2]) end
redis.call('EXPIRE', KEYS[1], ARGV[3])
return redis.call('SMEMBERS', KEYS[1])`);

/**
 * What the XMPP connector remembers across restarts, in Redis: each party's
 * reaction set per message (XEP-0444 sends whole sets, Parley carries single
 * changes) and each user's last presence per contact (to answer probes).
 */
export class XmppState {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private key(...parts: string[]): string {
    return `${this.prefix}:xmpp:${parts.join('\u0000')}`;
  }

  async swapReactions(sender: string, target: string, emojis: readonly string[]): Promise<string[]> {
    const old = await SWAP_SET.run(this.redis, [this.key('rx', sender, target)], [String(TTL), ...emojis]);
    return Array.isArray(old) ? old.map(String) : [];
  }

  async changeReaction(sender: string, target: string, emoji: string, action: 'add' | 'remove'): Promise<string[]> {
    const now = await CHANGE_SET.run(this.redis, [this.key('rx', sender, target)], [action, emoji, String(TTL)]);
    return Array.isArray(now) ? now.map(String).sort() : [];
  }

  async storePresence(entries: ReadonlyArray<readonly [user: string, contact: string, value: string]>): Promise<void> {
    if (entries.length === 0) return;
    const p = this.redis.pipeline();
    for (const [user, contact, value] of entries) {
      p.hset(this.key('pres', user), contact, value);
      p.expire(this.key('pres', user), TTL);
    }
    await p.exec();
  }

  async presence(user: string, contact: string): Promise<string | null> {
    return this.redis.hget(this.key('pres', user), contact);
  }
}
