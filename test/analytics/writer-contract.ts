import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FaultyBackend } from '../../analytics/fault.ts';
import { Spool } from '../../analytics/spool.ts';
import { AnalyticsStore } from '../../analytics/store.ts';
import { ClickHouseSink } from '../../analytics/writer.ts';
import { encodeBatch } from '../../analytics/rows.ts';
import { event, silent, until, type TestDb } from './support.ts';

const spoolFiles = (dir: string): string[] => readdirSync(dir).filter((f) => f.endsWith('.tsv') || f.endsWith('.rowbinary'));

/** Writer behaviour every backend must show: rows land intact, outages lose nothing and duplicate nothing. */
export function writerContract(name: string, open: () => Promise<TestDb>, skip = false): void {
  describe.skipIf(skip)(`writer contract (${name})`, () => {
    let t: TestDb;
    let faulty: FaultyBackend;
    let store: AnalyticsStore;
    let spoolDir: string;
    beforeAll(async () => {
      t = await open();
      faulty = new FaultyBackend(t.db);
      store = new AnalyticsStore(faulty, { retentionMonths: 13 });
    });
    afterAll(async () => {
      await t?.close();
    });
    beforeEach(async () => {
      faulty.mode = 'up';
      await t.truncate();
      spoolDir = mkdtempSync(path.join(os.tmpdir(), 'parley-spool-test-'));
      return () => rmSync(spoolDir, { recursive: true, force: true });
    });

    const writer = (over: Partial<ConstructorParameters<typeof ClickHouseSink>[0]> = {}): ClickHouseSink =>
      new ClickHouseSink({
        target: store,
        spool: new Spool(spoolDir, 64 * 1024 * 1024),
        log: silent,
        batchRows: 100,
        flushIntervalMs: 50,
        retryBaseMs: 20,
        retryMaxMs: 100,
        ...over,
      });

    it('writes rows with every field intact, hostile characters included', async () => {
      const w = writer();
      const nasty = 'we\tird\nid\\x\r\0"\'<>@évil.example 🦜';
      const e = event({ ts: Date.UTC(2026, 0, 2, 3, 4, 5, 678), sender: nasty, chatId: 'chat\t1', reason: 'RECIPIENT_UNKNOWN', outcome: 'failed' });
      w.write([e]);
      await w.close();
      const rows = await t.db.query<Record<string, string>>('SELECT *, toUnixTimestamp64Milli(ts) AS ms FROM message_log');
      expect(rows).toHaveLength(1);
      const r = rows[0] as Record<string, string>;
      expect(Number(r.ms)).toBe(e.ts);
      expect(r).toMatchObject({
        tenant: e.tenant, message_id: e.messageId, chat_id: 'chat\t1', type: 'im', sender: nasty, receiver: e.receiver,
        sender_domain: 'parley.local', receiver_domain: 'partner.example', sender_platform: 'teams', receiver_platform: 'xmpp',
        direction: 'outbound', outcome: 'failed', reason: 'RECIPIENT_UNKNOWN',
      });
    });

    it('writes long and multi-byte strings intact (lengths past one varint byte, lone surrogates replaced)', async () => {
      const w = writer();
      const long = `${'é🦜'.repeat(5_000)}@x.example`;
      const mid = 'a'.repeat(127);
      const e = event({ sender: long, receiver: mid, chatId: 'x'.repeat(128), messageId: 'lone\ud800surrogate', reason: '' });
      w.write([e, event({ tenant: '', chatId: '' })]);
      await w.close();
      const rows = await t.db.query<Record<string, string>>('SELECT sender, receiver, chat_id, message_id FROM message_log ORDER BY length(sender) DESC');
      expect(rows).toHaveLength(2);
      expect(rows[0]).toEqual({ sender: long, receiver: mid, chat_id: 'x'.repeat(128), message_id: 'lone\ufffdsurrogate' });
    });

    it('keeps repeated and distinct low-cardinality values apart (multi-byte, long, many domains)', async () => {
      const w = writer();
      const longDomain = `${'d'.repeat(300)}.example`;
      const events = Array.from({ length: 3_000 }, (_, i) =>
        event({
          messageId: `lc-${i}`,
          tenant: i % 3 === 0 ? 'zürich' : 'acme',
          receiverDomain: i % 7 === 0 ? longDomain : `p${i % 1_500}.exämple`,
          reason: i % 2 === 0 ? '' : 'RATE_LIMITED',
        }),
      );
      w.write(events);
      await w.close();
      const rows = await t.db.query<{ message_id: string; tenant: string; receiver_domain: string; reason: string }>(
        "SELECT message_id, tenant, receiver_domain, reason FROM message_log WHERE startsWith(message_id, 'lc-')",
      );
      expect(rows).toHaveLength(events.length);
      const got = new Map(rows.map((r) => [r.message_id, r]));
      for (const e of events) {
        expect(got.get(e.messageId)).toEqual({ message_id: e.messageId, tenant: e.tenant, receiver_domain: e.receiverDomain, reason: e.reason });
      }
    });

    it('replays a TabSeparated spool left by an older version next to RowBinary batches', async () => {
      const old = new Spool(spoolDir, 64 * 1024 * 1024);
      await old.append('old-tsv-batch', 3, encodeBatch([event(), event(), event()]), 'TabSeparated');
      faulty.mode = 'down';
      const w1 = writer();
      w1.write(Array.from({ length: 120 }, () => event()));
      await w1.close();
      expect(spoolFiles(spoolDir).map((f) => f.split('.').pop()).sort()[0]).toBe('rowbinary');
      faulty.mode = 'up';
      const w2 = writer();
      await until(() => w2.spooledRows === 0, 30_000, 'replay on start');
      expect(await t.count()).toBe(123);
      await w2.close();
    });

    it('cuts batches by size and by time', async () => {
      const w = writer({ batchRows: 1000, flushIntervalMs: 100 });
      w.write(Array.from({ length: 2500 }, () => event()));
      await until(async () => (await t.count()) === 2000, 20_000, 'two full batches');
      await until(async () => (await t.count()) === 2500, 20_000, 'the rest on the timer');
      await w.close();
    });

    it('ClickHouse down during a run, then back: every row arrives exactly once', async () => {
      const w = writer({ batchRows: 50 });
      const total = 3000;
      let sent = 0;
      const send = (n: number): void => {
        w.write(Array.from({ length: n }, () => event()));
        sent += n;
      };
      send(400);
      await until(async () => (await t.count()) === 400, 5000, 'rows before the outage');
      faulty.mode = 'down';
      for (let i = 0; i < 10; i++) {
        send(100);
        await new Promise((r) => setTimeout(r, 20));
      }
      await until(() => w.spooledRows >= 900, 5000, 'rows spooled');
      expect(await t.count()).toBe(400);
      faulty.mode = 'ambiguous'; // inserts land but report failure: replays must be deduplicated
      const before = faulty.failures;
      send(300);
      await until(() => faulty.failures >= before + 5, 30_000, 'ambiguous failures'); // a deduplicated replay takes 50-400 ms on a loaded machine
      faulty.mode = 'up';
      send(total - sent);
      await w.flush();
      await until(() => w.spooledRows === 0, 30_000, 'spool drained');
      expect(await t.count()).toBe(total);
      expect(Number((await t.db.query<{ n: string }>('SELECT uniqExact(message_id) AS n FROM message_log'))[0]?.n)).toBe(total);
      const rolled = await t.db.query<{ n: string }>('SELECT sum(messages) AS n FROM usage_daily');
      expect(Number(rolled[0]?.n)).toBe(total);
      const sent2 = await t.db.query<{ n: string }>('SELECT sum(sent) AS n FROM user_daily');
      expect(Number(sent2[0]?.n)).toBe(total);
      // The monthly rollups chained on the daily ones count each replayed batch once too.
      const monthly = await t.db.query<{ n: string }>('SELECT sum(messages) AS n FROM tenant_monthly');
      expect(Number(monthly[0]?.n)).toBe(total);
      expect(spoolFiles(spoolDir)).toEqual([]);
      await w.close();
    });

    it('a spool left by a run that stopped while ClickHouse was down is replayed by the next start', async () => {
      faulty.mode = 'down';
      const w1 = writer();
      w1.write(Array.from({ length: 250 }, () => event()));
      await w1.close();
      expect(spoolFiles(spoolDir).length).toBeGreaterThan(0);
      faulty.mode = 'up';
      const w2 = writer();
      // A replay is a few inserts into chDB, each feeding the rollups: seconds when the whole suite loads the machine.
      await until(() => w2.spooledRows === 0, 30_000, 'replay on start');
      expect(await t.count()).toBe(250);
      await w2.close();
    });

    it('a full spool drops rows, counts them and says so', async () => {
      faulty.mode = 'down';
      const lines: string[] = [];
      const log = silent.child({});
      log.warn = ((obj: unknown, msg?: string) => void lines.push(`${msg ?? ''} ${JSON.stringify(obj)}`)) as typeof log.warn;
      const w = writer({ spool: new Spool(spoolDir, 20_000), log });
      for (let i = 0; i < 20; i++) w.write(Array.from({ length: 100 }, () => event()));
      await w.flush();
      const dropped = await w.metrics.rowsDropped.get();
      const full = dropped.values.find((v) => v.labels.reason === 'spool_full')?.value ?? 0;
      expect(full).toBeGreaterThan(0);
      expect(full + w.spooledRows).toBe(2000);
      expect(lines.some((l) => l.includes('analytics spool full'))).toBe(true);
      faulty.mode = 'up';
      await until(() => w.spooledRows === 0, 30_000, 'spool drained');
      expect(await t.count()).toBe(2000 - full);
      await w.close();
    });

    it('write() never waits: a burst is accepted at once while ClickHouse is down', async () => {
      faulty.mode = 'down';
      const w = writer({ batchRows: 10_000, maxBufferedRows: 1_000_000 });
      const rows = Array.from({ length: 1000 }, () => event());
      const start = performance.now();
      for (let i = 0; i < 100; i++) w.write(rows);
      expect(performance.now() - start).toBeLessThan(200);
      faulty.mode = 'up';
      await w.close();
      await until(async () => (await t.count()) === 100_000, 20_000, 'all rows');
    });
  });
}
