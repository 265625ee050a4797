import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeBatch } from '../../analytics/rows.ts';
import { AnalyticsStore } from '../../analytics/store.ts';
import { CLICKHOUSE_URL, event, openChdb, openServer, type TestDb } from './support.ts';

const DAY = 86_400_000;

function retentionContract(name: string, open: () => Promise<TestDb>, skip = false): void {
  describe.skipIf(skip)(`retention by TTL (${name})`, () => {
    let t: TestDb;
    beforeAll(async () => {
      t = await open();
      await t.truncate();
    });
    afterAll(async () => {
      await t?.close();
    });

    const counts = async (): Promise<number[]> => [
      await t.count('message_log'),
      Number((await t.db.query<{ n: string }>('SELECT sum(messages) AS n FROM usage_daily'))[0]?.n ?? 0),
      Number((await t.db.query<{ n: string }>('SELECT sum(sent) AS n FROM user_daily'))[0]?.n ?? 0),
      Number((await t.db.query<{ n: string }>('SELECT sum(messages) AS n FROM tenant_daily'))[0]?.n ?? 0),
    ];

    it('keeps 13 months by default and never stores what is already past it', async () => {
      const now = Date.now();
      const ages = [1, 40, 100, 300, 380, 420, 500]; // days
      await t.store.insertBatch(`ttl-${now}`, encodeBatch(ages.map((a) => event({ ts: now - a * DAY }))));
      await t.store.applyTtlNow();
      // 13 months is at least 395 days: 420 and 500 days are past it, 380 is not.
      expect(await counts()).toEqual([5, 5, 5, 5]);
    });

    it('a shorter configured retention is applied to the tables at start-up and drops older rows, raw and rollups', async () => {
      const shorter = new AnalyticsStore(t.db, { retentionMonths: 2 });
      await shorter.ensureSchema();
      const ttl = await t.db.query<{ name: string; engine_full: string }>(
        "SELECT name, engine_full FROM system.tables WHERE database = currentDatabase() AND name IN ('message_log','usage_daily','user_daily','tenant_daily')",
      );
      expect(ttl).toHaveLength(4);
      for (const r of ttl) expect(r.engine_full).toContain('toIntervalMonth(2)');
      await shorter.applyTtlNow();
      // Two months is at most 62 days: 1 and 40 days remain.
      expect(await counts()).toEqual([2, 2, 2, 2]);
      await new AnalyticsStore(t.db, { retentionMonths: 13 }).ensureSchema();
    });
  });
}

retentionContract('chDB', () => openChdb());
retentionContract('ClickHouse server (CLICKHOUSE_URL)', () => openServer(), !CLICKHOUSE_URL);
