import type { Redis } from 'ioredis';
import { z } from 'zod';
import { addressSchema, type Address } from '../../core/address.ts';
import { PRESENCE_SHOWS } from '../../core/envelope.ts';

const publicationSchema = z.object({ show: z.enum(PRESENCE_SHOWS), status: z.string().optional() });
const watchSchema = z.object({ local: addressSchema, remote: addressSchema, localUri: z.string(), remoteUri: z.string() });

export type SavedPublication = z.infer<typeof publicationSchema> & { userUri: string };
export type SavedWatch = z.infer<typeof watchSchema>;

/**
 * What the SIP connector must redo after a Parley restart: the presence it
 * publishes for Parley's users and its subscriptions to external contacts.
 * Kept in Redis (two hashes); without Redis the connector keeps them in memory only.
 */
export class SipPresenceBook {
  private readonly pubs: string;
  private readonly watches: string;

  constructor(
    private readonly redis: Redis,
    prefix: string,
  ) {
    this.pubs = `${prefix}:sip:publications`;
    this.watches = `${prefix}:sip:watches`;
  }

  async savePublication(userUri: string, show: SavedPublication['show'], status: string | undefined): Promise<void> {
    await this.redis.hset(this.pubs, userUri, JSON.stringify(status === undefined ? { show } : { show, status }));
  }

  async saveWatch(w: SavedWatch): Promise<void> {
    await this.redis.hset(this.watches, watchKey(w.local, w.remote), JSON.stringify(w));
  }

  async deleteWatch(local: Address, remote: Address): Promise<void> {
    await this.redis.hdel(this.watches, watchKey(local, remote));
  }

  /** Everything stored; unreadable entries are skipped and removed. */
  async load(): Promise<{ publications: SavedPublication[]; watches: SavedWatch[] }> {
    const [pubs, watches] = await Promise.all([this.redis.hgetall(this.pubs), this.redis.hgetall(this.watches)]);
    const publications: SavedPublication[] = [];
    const bad: Array<[string, string]> = [];
    for (const [userUri, raw] of Object.entries(pubs)) {
      const p = publicationSchema.safeParse(safeJson(raw));
      if (p.success) publications.push({ userUri, ...p.data });
      else bad.push([this.pubs, userUri]);
    }
    const ws: SavedWatch[] = [];
    for (const [key, raw] of Object.entries(watches)) {
      const w = watchSchema.safeParse(safeJson(raw));
      if (w.success) ws.push(w.data);
      else bad.push([this.watches, key]);
    }
    if (bad.length > 0) await Promise.all(bad.map(([h, f]) => this.redis.hdel(h, f)));
    return { publications, watches: ws };
  }
}

export function watchKey(local: Pick<Address, 'id'>, remote: Pick<Address, 'id'>): string {
  return `${local.id}>${remote.id}`;
}

function safeJson(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return undefined;
  }
}
