import { randomUUID } from 'node:crypto';
import type { ClickHouseBackend } from '../../analytics/backend.ts';
import type { AuditEntry } from './schemas.ts';

export interface AuditRecord {
  actor: string;
  role: string;
  action: string;
  target: string;
  before: unknown;
  after: unknown;
}

export interface AuditFilter {
  offset: number;
  limit: number;
  actor?: string | undefined;
  action?: string | undefined;
  target?: string | undefined;
  since?: number | undefined;
  until?: number | undefined;
}

/** Where administrative changes are recorded and read back. */
export interface AuditLog {
  write(r: AuditRecord, at?: number): Promise<AuditEntry>;
  list(f: AuditFilter): Promise<{ total: number; entries: AuditEntry[] }>;
}

let lastAt = 0;
/** Times strictly increase within a process, so newest-first order is exact between changes made in one millisecond. */
const entry = (r: AuditRecord, at: number): AuditEntry => {
  lastAt = Math.max(at, lastAt + 1);
  return { id: randomUUID(), at: lastAt, ...r, before: r.before ?? null, after: r.after ?? null };
};

/** The audit in ClickHouse table admin_audit (analytics migration 4); values only as bound parameters. */
export class ClickHouseAuditLog implements AuditLog {
  constructor(
    private readonly db: ClickHouseBackend,
    /** Resolves once the analytics schema (with admin_audit) is in place. */
    private readonly ready: () => Promise<void> = async () => undefined,
  ) {}

  async write(r: AuditRecord, at = Date.now()): Promise<AuditEntry> {
    await this.ready();
    const e = entry(r, at);
    await this.db.command(
      `INSERT INTO admin_audit (id, at, actor, role, action, target, before, after)
       SELECT {id:String}, fromUnixTimestamp64Milli({at:Int64}, 'UTC'), {actor:String}, {role:String}, {action:String},
              {target:String}, {before:String}, {after:String}`,
      { id: e.id, at: e.at, actor: e.actor, role: e.role, action: e.action, target: e.target, before: JSON.stringify(e.before), after: JSON.stringify(e.after) },
    );
    return e;
  }

  async list(f: AuditFilter): Promise<{ total: number; entries: AuditEntry[] }> {
    await this.ready();
    const where = `({actor:String} = '' OR actor = {actor:String})
      AND ({action:String} = '' OR action = {action:String})
      AND ({target:String} = '' OR position(target, {target:String}) > 0)
      AND at >= fromUnixTimestamp64Milli({since:Int64}, 'UTC') AND at < fromUnixTimestamp64Milli({until:Int64}, 'UTC')`;
    const params = {
      actor: f.actor ?? '',
      action: f.action ?? '',
      target: f.target ?? '',
      since: f.since ?? 0,
      until: f.until ?? 4_102_444_800_000,
      limit: f.limit,
      offset: f.offset,
    };
    const [count] = await this.db.query<{ n: string | number }>(`SELECT count() AS n FROM admin_audit WHERE ${where}`, params);
    const rows = await this.db.query<{ id: string; at_ms: string | number; actor: string; role: string; action: string; target: string; before: string; after: string }>(
      `SELECT id, toUnixTimestamp64Milli(at) AS at_ms, actor, role, action, target, before, after FROM admin_audit
       WHERE ${where} ORDER BY at_ms DESC, id LIMIT {limit:UInt32} OFFSET {offset:UInt32}`,
      params,
    );
    return {
      total: Number(count?.n ?? 0),
      entries: rows.map(({ at_ms, ...r }) => ({ ...r, at: Number(at_ms), before: JSON.parse(r.before) as unknown, after: JSON.parse(r.after) as unknown })),
    };
  }
}

/** Kept in memory (analytics backend `memory`: trials and tests). */
export class MemoryAuditLog implements AuditLog {
  readonly entries: AuditEntry[] = [];

  async write(r: AuditRecord, at = Date.now()): Promise<AuditEntry> {
    const e = entry(structuredClone(r), at);
    this.entries.push(e);
    return e;
  }

  async list(f: AuditFilter): Promise<{ total: number; entries: AuditEntry[] }> {
    const hits = this.entries
      .filter((e) => (!f.actor || e.actor === f.actor) && (!f.action || e.action === f.action) && (!f.target || e.target.includes(f.target)))
      .filter((e) => e.at >= (f.since ?? 0) && e.at < (f.until ?? Number.MAX_SAFE_INTEGER))
      .sort((a, b) => b.at - a.at);
    return { total: hits.length, entries: hits.slice(f.offset, f.offset + f.limit) };
  }
}
