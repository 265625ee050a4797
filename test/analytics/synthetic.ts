import type { Direction, MetadataEvent, MetadataType, Outcome } from '../../src/core/metadata.ts';

/**
 * Twelve months of generated traffic with answers computed here, in plain
 * JavaScript, straight from the documented definitions (docs/analytics.md):
 * the oracle the reports are checked against, through raw and rollups.
 */
const LOCAL = ['parley.local', 'corp.local'];
const EXTERNAL = ['partner.example', 'acme.example', 'voip.example', 'tiny.example'];
const PLATFORM_OF: Record<string, string> = {
  'parley.local': 'teams', 'corp.local': 'teams', 'partner.example': 'xmpp', 'acme.example': 'xmpp', 'voip.example': 'sip', 'tiny.example': 'sip',
};
const TYPES: MetadataType[] = ['im', 'im', 'im', 'presence', 'typing', 'reaction', 'file', 'edit'];
const OUTCOMES: Outcome[] = ['delivered', 'delivered', 'delivered', 'failed', 'blocked'];

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;

export function generate(count: number, now = new Date(), seed = 42): MetadataEvent[] {
  const r = rng(seed);
  const out: MetadataEvent[] = [];
  const start = Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 11, 1);
  const end = now.getTime() - 60_000;
  for (let i = 0; i < count; i++) {
    // Skewed: local users talk to externals mostly, some internal and a few external<->external relays.
    const kind = r();
    const fromDomain = kind < 0.55 ? pick(r, LOCAL) : kind < 0.85 ? pick(r, EXTERNAL) : kind < 0.95 ? pick(r, LOCAL) : pick(r, EXTERNAL);
    const toDomain = kind < 0.55 ? pick(r, EXTERNAL) : kind < 0.85 ? pick(r, LOCAL) : kind < 0.95 ? pick(r, LOCAL) : pick(r, EXTERNAL);
    const user = (d: string): string => `${d.startsWith('voip') || d.startsWith('tiny') ? 'sip:' : ''}u${Math.floor(r() * (d === 'tiny.example' ? 3 : 40))}@${d}`;
    const sender = user(fromDomain);
    const receiver = user(toDomain);
    const fromLocal = LOCAL.includes(fromDomain);
    const toLocal = LOCAL.includes(toDomain);
    const direction: Direction = fromLocal && toLocal ? 'internal' : fromLocal ? 'outbound' : toLocal ? 'inbound' : 'external';
    const outcome = pick(r, OUTCOMES);
    out.push({
      ts: Math.floor(start + r() * (end - start)),
      tenant: r() < 0.7 ? 'acme' : 'globex',
      messageId: `syn-${seed}-${i}`,
      chatId: `chat-${Math.floor(r() * 500)}`,
      type: pick(r, TYPES),
      sender,
      receiver,
      senderDomain: fromDomain,
      receiverDomain: toDomain,
      senderPlatform: PLATFORM_OF[fromDomain] as string,
      receiverPlatform: PLATFORM_OF[toDomain] as string,
      direction,
      outcome,
      reason: outcome === 'delivered' ? '' : outcome === 'blocked' ? 'POLICY_DOMAIN_BLOCKED' : 'UNDELIVERABLE',
    });
  }
  return out;
}

const month = (ts: number): string => new Date(ts).toISOString().slice(0, 7) + '-01';
const internal = (e: MetadataEvent, side: 'sender' | 'receiver'): boolean =>
  side === 'sender' ? e.direction === 'internal' || e.direction === 'outbound' : e.direction === 'internal' || e.direction === 'inbound';

interface Acc {
  users: Set<string>;
  messages: Set<string>;
}
function group<K extends string>(events: readonly MetadataEvent[], keys: (e: MetadataEvent) => Array<[K, string | undefined]>): Map<K, Acc> {
  const m = new Map<K, Acc>();
  for (const e of events) {
    for (const [k, user] of keys(e)) {
      let a = m.get(k);
      if (!a) m.set(k, (a = { users: new Set(), messages: new Set() }));
      if (user !== undefined) a.users.add(user);
      a.messages.add(e.messageId);
    }
  }
  return m;
}
const sides = (e: MetadataEvent): Array<['sender' | 'receiver', string]> => [['sender', e.sender], ['receiver', e.receiver]];

export interface Range {
  from: string;
  to: string;
  tenant?: string;
}

function inRange(events: readonly MetadataEvent[], r: Range): MetadataEvent[] {
  const from = Date.parse(`${r.from}T00:00:00Z`);
  const to = Date.parse(`${r.to}T00:00:00Z`);
  return events.filter((e) => e.ts >= from && e.ts < to && (!r.tenant || e.tenant === r.tenant));
}

/** The answers, in the row shapes of analytics/reports.ts, in the same order. */
export const oracle = {
  monthly(events: readonly MetadataEvent[], r: Range) {
    const g = group(inRange(events, r), (e) => sides(e).map(([, u]) => [month(e.ts), u]));
    return [...g].sort(([a], [b]) => a.localeCompare(b)).map(([m, a]) => ({ month: m, users: a.users.size, messages: a.messages.size }));
  },
  byGroup(events: readonly MetadataEvent[], r: Range, dim: 'side' | 'platform') {
    const g = group(inRange(events, r), (e) =>
      sides(e).map(([s, u]) => {
        const v = dim === 'side' ? (internal(e, s) ? 'internal' : 'external') : s === 'sender' ? e.senderPlatform : e.receiverPlatform;
        return [`${month(e.ts)}|${v}`, u];
      }),
    );
    return [...g].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, a]) => {
      const [m, v] = k.split('|') as [string, string];
      return { month: m, [dim]: v, users: a.users.size, messages: a.messages.size };
    });
  },
  topDomains(events: readonly MetadataEvent[], r: Range, limit: number) {
    const g = group(inRange(events, r), (e) =>
      sides(e).flatMap(([s, u]): Array<[string, string]> => (internal(e, s) ? [] : [[s === 'sender' ? e.senderDomain : e.receiverDomain, u]])),
    );
    return [...g]
      .map(([domain, a]) => ({ domain, users: a.users.size, messages: a.messages.size }))
      .sort((a, b) => b.messages - a.messages || (a.domain < b.domain ? -1 : 1))
      .slice(0, limit);
  },
  domainDetail(events: readonly MetadataEvent[], r: Range, domain: string) {
    const g = group(inRange(events, r), (e) =>
      sides(e).flatMap(([s, u]): Array<[string, string]> => ((s === 'sender' ? e.senderDomain : e.receiverDomain) === domain ? [[`${month(e.ts)}|${e.type}`, u]] : [])),
    );
    return [...g].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, a]) => {
      const [m, type] = k.split('|') as [string, string];
      return { month: m, type, users: a.users.size, messages: a.messages.size };
    });
  },
  userDetail(events: readonly MetadataEvent[], r: Range, user: string) {
    const m = new Map<string, { sent: number; received: number; counterparts: Set<string> }>();
    for (const e of inRange(events, r)) {
      if (e.sender !== user && e.receiver !== user) continue;
      const k = `${month(e.ts)}|${e.type}`;
      let a = m.get(k);
      if (!a) m.set(k, (a = { sent: 0, received: 0, counterparts: new Set() }));
      if (e.sender === user) {
        a.sent++;
        a.counterparts.add(e.receiver);
      }
      if (e.receiver === user) {
        a.received++;
        a.counterparts.add(e.sender);
      }
    }
    return [...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, a]) => {
      const [mo, type] = k.split('|') as [string, string];
      return { month: mo, type, sent: a.sent, received: a.received, counterparts: a.counterparts.size };
    });
  },
};
