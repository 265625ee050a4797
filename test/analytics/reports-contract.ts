import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeBatch } from '../../analytics/rows.ts';
import { REPORT_NAMES, REPORTS, reportSql, trailingYear, type Source } from '../../analytics/reports.ts';
import { TENANT_DAY_PROJECTION } from '../../analytics/schema.ts';
import type { MetadataEvent } from '../../src/core/metadata.ts';
import type { TestDb } from './support.ts';
import { generate, oracle, type Range } from './synthetic.ts';

async function load(t: TestDb, events: readonly MetadataEvent[]): Promise<void> {
  // Several batches, as the writer would send them (each its own insert and rollup block).
  for (let i = 0; i < events.length; i += 2_000) {
    await t.store.insertBatch(`load-${i}-${Date.now()}`, encodeBatch(events.slice(i, i + 2_000)));
  }
}

/** Reports against generated traffic with known answers, through raw and rollups; then erasure. */
export function reportsContract(name: string, open: () => Promise<TestDb>, skip = false): void {
  describe.skipIf(skip)(`reports on 12 months of generated traffic (${name})`, () => {
    let t: TestDb;
    let events: MetadataEvent[];
    const range: Range = trailingYear();
    beforeAll(async () => {
      t = await open();
      await t.truncate();
      events = generate(20_000);
      await load(t, events);
    });
    afterAll(async () => {
      await t?.close();
    });

    const both: Source[] = ['raw', 'daily', 'rollup'];

    it('the generated traffic spans the twelve months, both sides, every platform', () => {
      expect(oracle.monthly(events, range)).toHaveLength(12);
      expect(new Set(events.map((e) => e.direction))).toEqual(new Set(['internal', 'inbound', 'outbound', 'external']));
    });

    for (const source of both) {
      for (const tenant of ['', 'acme']) {
        const r = { ...range, tenant };
        it(`monthly users and messages are exact (${source}, tenant ${tenant || 'all'})`, async () => {
          expect(await t.store.report('monthly', r, source)).toEqual(oracle.monthly(events, r));
        });
        it(`split by internal/external side is exact (${source}, tenant ${tenant || 'all'})`, async () => {
          expect(await t.store.report('monthly-by-side', r, source)).toEqual(oracle.byGroup(events, r, 'side'));
        });
        it(`split by platform is exact (${source}, tenant ${tenant || 'all'})`, async () => {
          expect(await t.store.report('monthly-by-platform', r, source)).toEqual(oracle.byGroup(events, r, 'platform'));
        });
      }
      it(`top federated domains are exact (${source})`, async () => {
        expect(await t.store.report('top-domains', { ...range, limit: 3 }, source)).toEqual(oracle.topDomains(events, range, 3));
        const all = await t.store.report('top-domains', range, source);
        expect(all.map((d) => d.domain).sort()).toEqual(['acme.example', 'partner.example', 'tiny.example', 'voip.example']);
      });
      it(`per-domain and per-user detail are exact (${source})`, async () => {
        expect(await t.store.report('domain-detail', { ...range, domain: 'voip.example' }, source)).toEqual(
          oracle.domainDetail(events, range, 'voip.example'),
        );
        expect(await t.store.report('domain-detail', { ...range, domain: 'parley.local' }, source)).toEqual(
          oracle.domainDetail(events, range, 'parley.local'),
        );
        expect(await t.store.report('user-detail', { ...range, user: 'u7@parley.local' }, source)).toEqual(
          oracle.userDetail(events, range, 'u7@parley.local'),
        );
      });
      it(`a date range narrower than a year is honoured (${source})`, async () => {
        const months = oracle.monthly(events, range).map((m) => m.month);
        const r = { from: months[3] as string, to: months[6] as string };
        const got = await t.store.report('monthly', r, source);
        expect(got.map((m) => m.month)).toEqual(months.slice(3, 6));
        expect(got).toEqual(oracle.monthly(events, r));
      });
    }

    it('every report gives the same rows from raw, daily and monthly rollups', async () => {
      for (const name of REPORT_NAMES) {
        const p = { ...range, domain: 'partner.example', user: 'u3@corp.local' };
        const raw = await t.store.report(name, p, 'raw');
        expect(raw.length).toBeGreaterThan(0);
        expect(await t.store.report(name, p, 'daily')).toEqual(raw);
        expect(await t.store.report(name, p, 'rollup')).toEqual(raw);
      }
    });

    it('whole-month ranges read the monthly rollups, other ranges the daily ones, with the same answers', async () => {
      const monthly = REPORT_NAMES.filter((n) => REPORTS[n].sql.monthly);
      expect(monthly).toEqual(['monthly', 'monthly-by-side', 'monthly-by-platform', 'top-domains']);
      for (const name of monthly) {
        expect(reportSql(REPORTS[name], 'rollup', range)).toBe(REPORTS[name].sql.monthly);
        expect(reportSql(REPORTS[name], 'daily', range)).toBe(REPORTS[name].sql.rollup);
        const midMonth = { from: range.from.replace(/-01$/, '-15'), to: range.to };
        expect(reportSql(REPORTS[name], 'rollup', midMonth)).toBe(REPORTS[name].sql.rollup);
        expect(await t.store.report(name, midMonth, 'rollup')).toEqual(await t.store.report(name, midMonth, 'raw'));
      }
      // The monthly tables hold one row per month and group, not per day.
      const n = await t.db.query<{ n: string }>('SELECT count() AS n FROM (SELECT month, tenant FROM tenant_monthly FINAL)');
      expect(Number(n[0]?.n)).toBe(24);
    });

    it('the raw monthly report is answered from message_log\'s tenant_day_users projection, for one tenant or all', async () => {
      for (const tenant of ['', 'acme']) {
        const plan = await t.db.query<{ explain: string }>(`EXPLAIN ${REPORTS.monthly.sql.raw}`, { ...range, tenant });
        expect(plan.map((r) => r.explain).join('\n')).toContain(`ReadFromMergeTree (${TENANT_DAY_PROJECTION})`);
        const scan = await t.db.query(`${REPORTS.monthly.sql.raw} SETTINGS optimize_use_projections = 0`, { ...range, tenant });
        expect(await t.store.report('monthly', { ...range, tenant }, 'raw')).toEqual(scan.map((r) => ({ ...r, users: Number(r.users), messages: Number(r.messages) })));
      }
    });

    it('refuses hostile or malformed parameters before any SQL runs', async () => {
      await expect(t.store.report('monthly', { from: "2024-01-01' OR 1=1 --", to: range.to })).rejects.toThrow(/date/);
      await expect(t.store.report('monthly', { from: '2024-02-30', to: range.to })).rejects.toThrow(/valid/);
      await expect(t.store.report('monthly', { from: range.to, to: range.from })).rejects.toThrow(/before/);
      await expect(t.store.report('top-domains', { ...range, limit: -1 })).rejects.toThrow();
      // A quote in a value is data, never SQL.
      expect(await t.store.report('user-detail', { ...range, user: "x' OR '1'='1" })).toEqual([]);
    });

    it('erasure removes every row of a user and leaves raw and rollups exact for everyone else', async () => {
      const victim = 'u5@partner.example';
      const before = events.filter((e) => e.sender === victim || e.receiver === victim).length;
      expect(before).toBeGreaterThan(0);
      const res = await t.store.eraseUser(victim);
      expect(res.rows).toBe(before);
      const rest = events.filter((e) => e.sender !== victim && e.receiver !== victim);
      expect(await t.count()).toBe(rest.length);
      const left = await t.db.query<{ n: string }>('SELECT count() AS n FROM message_log WHERE sender = {u:String} OR receiver = {u:String}', { u: victim });
      expect(Number(left[0]?.n)).toBe(0);
      const inRollup = await t.db.query<{ n: string }>('SELECT count() AS n FROM user_daily WHERE user = {u:String}', { u: victim });
      expect(Number(inRollup[0]?.n)).toBe(0);
      for (const source of both) {
        expect(await t.store.report('monthly', range, source)).toEqual(oracle.monthly(rest, range));
        expect(await t.store.report('monthly-by-side', range, source)).toEqual(oracle.byGroup(rest, range, 'side'));
        expect(await t.store.report('top-domains', range, source)).toEqual(oracle.topDomains(rest, range, 20));
        expect(await t.store.report('user-detail', { ...range, user: victim }, source)).toEqual([]);
      }
      expect(await t.store.eraseUser('nobody@nowhere.example')).toEqual({ rows: 0, months: [] });
      events = rest;
    });
  });
}
