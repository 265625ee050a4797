import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { api, ROUTES } from '../api.ts';
import { ChartCard, type Series } from '../charts.tsx';
import type { Row } from '../csv.ts';
import { ErrorBox, Loading, fmtNumber, useLoad } from '../ui.tsx';
import { LiveRate } from './live.tsx';

interface MonthRow { month: string; users: number; messages: number }
interface SideRow extends MonthRow { side: string }
interface PlatformRow extends MonthRow { platform: string }
interface DomainRow { domain: string; users: number; messages: number }

export interface OverviewData {
  monthly: MonthRow[];
  side: SideRow[];
  platform: PlatformRow[];
  domains: DomainRow[];
}

/** The trailing 12 months (this month and the 11 before), as the reports define them. */
export function trailingYear(now = new Date()): { from: string; to: string; months: string[] } {
  const start = (back: number) => new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - back, 1)).toISOString().slice(0, 10);
  return { from: start(11), to: start(-1), months: Array.from({ length: 12 }, (_, i) => start(11 - i)) };
}

const rowsOf = <T,>(answer: unknown): T[] =>
  (Array.isArray(answer) ? answer : ((answer as { rows?: unknown[] } | undefined)?.rows ?? [])) as T[];

const numbers = <T extends object>(rows: T[], keys: readonly (keyof T)[]): T[] =>
  rows.map((r) => {
    const out = { ...r };
    for (const k of keys) (out as Record<keyof T, unknown>)[k] = Number(r[k]);
    return out;
  });

export async function loadOverview(tenant: string, range: { from: string; to: string }): Promise<OverviewData> {
  const q = { ...range, tenant };
  const [monthly, side, platform, domains] = await Promise.all([
    api.get<unknown>(ROUTES.report('monthly'), q),
    api.get<unknown>(ROUTES.report('monthly-by-side'), q),
    api.get<unknown>(ROUTES.report('monthly-by-platform'), q),
    api.get<unknown>(ROUTES.report('top-domains'), { ...q, limit: 10 }),
  ]);
  return {
    monthly: numbers(rowsOf<MonthRow>(monthly), ['users', 'messages']),
    side: numbers(rowsOf<SideRow>(side), ['users', 'messages']),
    platform: numbers(rowsOf<PlatformRow>(platform), ['users', 'messages']),
    domains: numbers(rowsOf<DomainRow>(domains), ['users', 'messages']),
  };
}

/** One series per group value, aligned on the 12 months (a month without rows is 0). */
function pivot<R extends MonthRow>(rows: R[], months: string[], group: (r: R) => string, value: (r: R) => number): Series[] {
  const groups = [...new Set(rows.map(group))].sort();
  return groups.map((g) => ({
    label: g,
    values: months.map((m) => rows.filter((r) => r.month.slice(0, 10) === m && group(r) === g).reduce((s, r) => s + value(r), 0)),
  }));
}

const CHARTS = ['users', 'messages', 'side', 'platform', 'domains'] as const;
const EMPTY = 'No messages in this period yet. The charts fill as Parley relays messages; check the tenant filter if you expected data.';

export function Overview() {
  const [tenant, setTenant] = useState('');
  const [draft, setDraft] = useState('');
  const range = useMemo(() => trailingYear(), []);
  const [load, reload] = useLoad(() => loadOverview(tenant, range), [tenant]);
  const drawn = useRef(new Set<string>());

  // Charts draw in their own effects, which run before this component's: reset only on a new query and on leaving.
  useEffect(
    () => () => {
      drawn.current.clear();
      delete document.body.dataset.ready;
      delete document.body.dataset.readyMs;
    },
    [tenant],
  );
  const onDrawn = useCallback((id: string) => {
    drawn.current.add(id);
    if (CHARTS.every((c) => drawn.current.has(c)) && !document.body.dataset.ready) {
      // Milliseconds from navigation start until every chart has drawn (read by bench/portal.ts).
      document.body.dataset.readyMs = String(Math.round(performance.now()));
      document.body.dataset.ready = 'overview';
    }
  }, []);

  const charts = useMemo(() => {
    if (load.state !== 'ok') return undefined;
    const d = load.data;
    const months = range.months;
    const byMonth = new Map(d.monthly.map((r) => [r.month.slice(0, 10), r]));
    const domainRows = d.domains as unknown as Row[];
    return {
      users: [{ label: 'Unique users', values: months.map((m) => byMonth.get(m)?.users ?? 0) }],
      messages: [{ label: 'Messages', values: months.map((m) => byMonth.get(m)?.messages ?? 0) }],
      side: pivot(d.side, months, (r) => r.side, (r) => r.messages),
      platform: pivot(d.platform, months, (r) => r.platform, (r) => r.messages),
      domains: [{ label: 'Messages', values: d.domains.map((r) => r.messages) }],
      domainRows,
    };
  }, [load, range]);

  return (
    <div class="page">
      <div class="page-head">
        <h1 tabIndex={-1}>Overview</h1>
        <form
          class="filters"
          onSubmit={(e) => {
            e.preventDefault();
            setTenant(draft.trim());
          }}
        >
          <label>
            Tenant
            <input value={draft} onInput={(e) => setDraft((e.target as HTMLInputElement).value)} placeholder="all tenants" maxLength={200} />
          </label>
          <button type="submit">Apply</button>
        </form>
      </div>
      <p class="muted">
        Trailing 12 months: {range.from} to {range.to} (UTC, end excluded){tenant ? `, tenant ${tenant}` : ', all tenants'}.
      </p>
      <LiveRate />
      {load.state === 'loading' && <Loading />}
      {load.state === 'error' && <ErrorBox error={load.error} retry={reload} />}
      {load.state === 'ok' && charts && (
        <div class="grid">
          <Summary data={load.data} />
          <ChartCard id="users" title="Unique users per month" kind="time" columns={['month', 'users', 'messages']} rows={load.data.monthly as unknown as Row[]} x={range.months} series={charts.users} empty={EMPTY} onDrawn={onDrawn} />
          <ChartCard id="messages" title="Messages per month" kind="time" columns={['month', 'users', 'messages']} rows={load.data.monthly as unknown as Row[]} x={range.months} series={charts.messages} empty={EMPTY} onDrawn={onDrawn} />
          <ChartCard id="side" title="Messages: internal vs external domains" kind="time" columns={['month', 'side', 'users', 'messages']} rows={load.data.side as unknown as Row[]} x={range.months} series={charts.side} empty={EMPTY} onDrawn={onDrawn} />
          <ChartCard id="platform" title="Messages by platform" kind="time" columns={['month', 'platform', 'users', 'messages']} rows={load.data.platform as unknown as Row[]} x={range.months} series={charts.platform} empty={EMPTY} onDrawn={onDrawn} />
          <ChartCard id="domains" title="Top federated domains (messages)" kind="bars" columns={['domain', 'users', 'messages']} rows={charts.domainRows} x={load.data.domains.map((r) => r.domain)} series={charts.domains} empty="No messages with federated domains in this period yet. Add a federation on the Federations page." onDrawn={onDrawn} />
        </div>
      )}
    </div>
  );
}

function Summary({ data }: { data: OverviewData }) {
  const messages = data.monthly.reduce((s, r) => s + r.messages, 0);
  const last = data.monthly[data.monthly.length - 1];
  return (
    <section class="card summary" aria-label="Summary">
      <div>
        <span class="big">{fmtNumber(messages)}</span>
        <span class="muted">messages in 12 months</span>
      </div>
      <div>
        <span class="big">{fmtNumber(last?.users ?? 0)}</span>
        <span class="muted">users in {last ? last.month.slice(0, 7) : 'this month'}</span>
      </div>
      <div>
        <span class="big">{fmtNumber(data.domains.length)}</span>
        <span class="muted">federated domains shown</span>
      </div>
    </section>
  );
}
