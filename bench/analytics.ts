/**
 * The analytics benchmark: ingest through the batching writer into embedded
 * chDB (materialized views included), then the trailing-12-month report over a
 * large generated table (INSERT ... SELECT FROM numbers(), inside ClickHouse),
 * from the raw table and from the rollups, in the same run. Data lives in a
 * temp dir removed at the end. See docs/benchmarks.md.
 */
import { statfsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { pino, type Logger } from 'pino';
import type { InsertFormat } from '../analytics/backend.ts';
import { ChdbBackend } from '../analytics/chdb-backend.ts';
import { REPORTS, trailingYear, type ReportName } from '../analytics/reports.ts';
import { Spool } from '../analytics/spool.ts';
import { MONTHLY_ROLLUPS } from '../analytics/monthly-rollups.ts';
import { ANALYTICS_TABLES } from '../analytics/schema.ts';
import { AnalyticsStore } from '../analytics/store.ts';
import { ClickHouseSink, type BatchTarget } from '../analytics/writer.ts';
import type { MetadataEvent } from '../src/core/metadata.ts';
import { machineInfo } from './lib/env.ts';
import { round } from './lib/stats.ts';
import { printTable } from './lib/table.ts';
import { generateMessageLogSql } from './lib/message-log-sql.ts';

const num = (name: string, fallback: number): number => {
  const raw = process.env[name];
  const v = raw === undefined ? Number.NaN : Number(raw);
  return Number.isFinite(v) && v > 0 ? v : fallback;
};

/** Sizes; ANALYTICS_* environment variables shrink them for a quick trial. */
const P = {
  /** Rows for the report figures (generated inside ClickHouse). */
  reportRows: num('ANALYTICS_ROWS', 100_000_000),
  /** Rows pushed through the writer for the ingest figure. */
  ingestRows: num('ANALYTICS_INGEST_ROWS', 2_000_000),
  batchRows: num('ANALYTICS_BATCH_ROWS', 100_000),
  /** write() calls carry this many rows (the hub writes per turn). */
  writeChunk: 1_000,
  /** ANALYTICS_INGEST_ONLY=1: measure ingest only (no report dataset, no results file), for quick iterations. */
  ingestOnly: process.env.ANALYTICS_INGEST_ONLY === '1',
  /** Timed runs per report figure; the median counts. */
  reportRuns: num('ANALYTICS_REPORT_RUNS', 5),
  internalUsers: 50_000,
  externalUsers: 200_000,
  externalDomains: 200,
};

const TARGETS = { ingest_rows_per_s: 500_000, report_ms_rollup: 100, report_ms_raw: 2_000 };
const resultsFile = path.join(path.dirname(fileURLToPath(import.meta.url)), 'results', 'analytics.json');

function freeBytes(dir: string): number {
  const s = statfsSync(dir);
  return s.bavail * s.bsize;
}

function ingestEvents(n: number): MetadataEvent[] {
  const now = Date.now();
  const out: MetadataEvent[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const d = i % P.externalDomains;
    const outbound = i % 3 !== 0;
    const local = `u${(i * 7919) % P.internalUsers}@parley.local`;
    const ext = `e${(i * 104_729) % P.externalUsers}@d${d}.example`;
    out[i] = {
      ts: now - (i % 86_400) * 1000,
      tenant: i % 2 === 0 ? 'acme' : 'globex',
      messageId: `bench-${i}`,
      chatId: `chat-${i % 100_000}`,
      type: i % 5 === 0 ? 'presence' : 'im',
      sender: outbound ? local : ext,
      receiver: outbound ? ext : local,
      senderDomain: outbound ? 'parley.local' : `d${d}.example`,
      receiverDomain: outbound ? `d${d}.example` : 'parley.local',
      senderPlatform: outbound ? 'teams' : d % 2 === 0 ? 'xmpp' : 'sip',
      receiverPlatform: outbound ? (d % 2 === 0 ? 'xmpp' : 'sip') : 'teams',
      direction: outbound ? 'outbound' : 'inbound',
      outcome: 'delivered',
      reason: '',
    };
  }
  return out;
}

async function timeIt(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
};

export async function run(): Promise<void> {
  const base = os.tmpdir();
  const needed = P.ingestOnly ? 1024 ** 3 : Math.max(2, P.reportRows / 100_000_000 * 12) * 1024 ** 3;
  const free = freeBytes(base);
  console.log(`\nanalytics benchmark: ${P.reportRows.toLocaleString('en-US')} report rows, ${P.ingestRows.toLocaleString('en-US')} ingest rows; ${round(free / 1024 ** 3, 1)} GB free in ${base}`);
  if (free < needed) throw new Error(`needs about ${round(needed / 1024 ** 3, 1)} GB free in ${base}; set ANALYTICS_ROWS lower`);
  const dir = mkdtempSync(path.join(base, 'parley-bench-analytics-'));
  const log = pino({ level: 'warn' });
  const db = await ChdbBackend.open({ path: path.join(dir, 'clickhouse') });
  const store = new AnalyticsStore(db, { retentionMonths: 13 });
  const results: Record<string, number> = {};
  const extra: Record<string, number | string> = {};
  try {
    await store.ensureSchema();

    // 1. Ingest through the writer (rollup views included): the production format (RowBinary
    // into chDB), then TabSeparated for comparison in the same run, tables emptied in between.
    const events = ingestEvents(P.ingestRows);
    const rb = await ingest(store, db, events, 'RowBinary', path.join(dir, 'spool-rb'), log);
    const tsv = await ingest(store, db, events, 'TabSeparated', path.join(dir, 'spool-tsv'), log);
    results.ingest_rows_per_s = rb.rowsPerS;
    extra.ingest_cpu_us_per_row = rb.cpuUsPerRow;
    extra.ingest_load_average_1m = rb.loadAverage1m;
    extra.ingest_event_loop_delay_p99_ms = rb.eventLoopDelayP99Ms;
    extra.ingest_event_loop_delay_max_ms = rb.eventLoopDelayMaxMs;
    extra.ingest_max_write_call_ms = rb.maxWriteCallMs;
    extra.ingest_tsv_rows_per_s = tsv.rowsPerS;
    extra.ingest_tsv_cpu_us_per_row = tsv.cpuUsPerRow;
    extra.ingest_tsv_load_average_1m = tsv.loadAverage1m;
    // What the rollups cost: the same ingest without the per-user view, then with no view at all.
    await db.command('DROP VIEW IF EXISTS user_daily_mv');
    const noUser = await ingest(store, db, events, 'RowBinary', path.join(dir, 'spool-nouser'), log);
    for (const v of ['tenant_daily_mv', 'usage_daily_mv', ...MONTHLY_ROLLUPS.map((r) => `${r.table}_mv`)]) await db.command(`DROP VIEW IF EXISTS ${v}`);
    const bare = await ingest(store, db, events, 'RowBinary', path.join(dir, 'spool-bare'), log);
    extra.ingest_without_user_daily_rows_per_s = noUser.rowsPerS;
    extra.ingest_without_user_daily_cpu_us_per_row = noUser.cpuUsPerRow;
    extra.ingest_message_log_only_rows_per_s = bare.rowsPerS;
    extra.ingest_message_log_only_cpu_us_per_row = bare.cpuUsPerRow;
    if (P.ingestOnly) {
      printTable(['ingest', 'value'], [['ingest_rows_per_s', results.ingest_rows_per_s], ...Object.entries(extra)]);
      return;
    }
    // 2. The large table, generated inside ClickHouse with no views attached (they were
    // dropped above); the rollups are filled afterwards in one pass with the same SELECTs
    // the views run (the erasure rebuild): block by block through the views takes ~30 min
    // for 1e8 rows here. user_daily (per-user detail, not timed) is left empty.
    const chunk = 10_000_000;
    const g0 = performance.now();
    for (let off = 0; off < P.reportRows; off += chunk) {
      await db.command(generateMessageLogSql(Math.min(chunk, P.reportRows - off), off, P));
      process.stdout.write(`  generated ${Math.min(P.reportRows, off + chunk).toLocaleString('en-US')} rows (${round((performance.now() - g0) / 1000)} s)\r`);
    }
    console.log('');
    extra.generate_s = round((performance.now() - g0) / 1000, 1);
    const r0 = performance.now();
    const months = (await db.query<{ m: number }>('SELECT DISTINCT toYYYYMM(ts) AS m FROM message_log ORDER BY m')).map((r) => Number(r.m));
    await store.rebuildRollups(months, ['tenant_daily', 'usage_daily', ...MONTHLY_ROLLUPS.map((r) => r.table)]);
    extra.rollup_fill_s = round((performance.now() - r0) / 1000, 1);
    const o0 = performance.now();
    for (const t of ['message_log', 'tenant_daily', 'usage_daily', ...MONTHLY_ROLLUPS.map((r) => r.table)]) await db.command(`OPTIMIZE TABLE ${t} FINAL`);
    extra.optimize_final_s = round((performance.now() - o0) / 1000, 1);
    const rows = await countRows(db);
    if (rows !== P.reportRows) throw new Error(`generated ${rows} rows, expected ${P.reportRows}`);
    const sizes = await db.query<{ table: string; rows: string; bytes: string }>(
      "SELECT table, toString(sum(rows)) AS rows, toString(sum(bytes_on_disk)) AS bytes FROM system.parts WHERE active AND database = currentDatabase() GROUP BY table ORDER BY table",
    );
    for (const s of sizes) {
      extra[`${s.table}_rows`] = Number(s.rows);
      extra[`${s.table}_mb`] = round(Number(s.bytes) / 1024 ** 2, 1);
    }

    // 3. Reports: raw vs rollup, same data, same run; the results must agree.
    const range = trailingYear();
    const timed: Array<[ReportName, Record<string, string>]> = [
      ['monthly', {}],
      ['monthly-by-side', {}],
      ['monthly-by-platform', {}],
      ['top-domains', {}],
    ];
    const table: Array<[string, number, number, number]> = [];
    for (const [name, extraParams] of timed) {
      const p = { ...range, ...extraParams };
      const raw = await store.report(name, p, 'raw');
      const roll = await store.report(name, p, 'rollup');
      if (JSON.stringify(raw) !== JSON.stringify(roll)) extra[`${name}_raw_vs_rollup`] = 'DIFFER';
      const rawMs: number[] = [];
      const rollMs: number[] = [];
      for (let i = 0; i < P.reportRuns; i++) {
        rawMs.push(await timeIt(() => store.report(name, p, 'raw')));
        rollMs.push(await timeIt(() => store.report(name, p, 'rollup')));
      }
      table.push([name, round(median(rawMs), 1), round(median(rollMs), 1), round(median(rawMs) / median(rollMs), 1)]);
      extra[`${name}_ms_raw`] = round(median(rawMs), 1);
      extra[`${name}_ms_rollup`] = round(median(rollMs), 1);
    }
    // The same raw SQL with message_log's aggregate projection switched off: a full column scan.
    const scanMs: number[] = [];
    for (let i = 0; i < P.reportRuns; i++) {
      scanMs.push(await timeIt(() => db.query(`${REPORTS.monthly.sql.raw} SETTINGS optimize_use_projections = 0`, { ...range, tenant: '' })));
    }
    extra.monthly_ms_raw_scan = round(median(scanMs), 1);
    extra.report_load_average_1m = round(os.loadavg()[0] ?? 0, 1);
    results.report_ms_raw = extra['monthly_ms_raw'] as number;
    results.report_ms_rollup = extra['monthly_ms_rollup'] as number;

    printTable(['report (trailing 12 months)', 'raw ms', 'rollup ms', 'ratio'], table);
    console.log('');
    printTable(
      ['metric', 'value', 'target', 'met'],
      [
        ['ingest_rows_per_s', results.ingest_rows_per_s, TARGETS.ingest_rows_per_s, results.ingest_rows_per_s >= TARGETS.ingest_rows_per_s ? 'yes' : 'NO'],
        ['report_ms_rollup', results.report_ms_rollup, TARGETS.report_ms_rollup, results.report_ms_rollup <= TARGETS.report_ms_rollup ? 'yes' : 'NO'],
        ['report_ms_raw', results.report_ms_raw, TARGETS.report_ms_raw, results.report_ms_raw <= TARGETS.report_ms_raw ? 'yes' : 'NO'],
      ],
    );
    console.log('');
    printTable(['detail', 'value'], Object.entries(extra).map(([k, v]) => [k, v]));
    mkdirSync(path.dirname(resultsFile), { recursive: true });
    writeFileSync(
      resultsFile,
      `${JSON.stringify({ benchmark: 'analytics', machine: { ...machineInfo(), chdb: '3.4.0' }, params: P, results, targets: TARGETS, extra, reports: Object.keys(REPORTS) }, null, 2)}\n`,
    );
    console.log(`results written to ${path.relative(process.cwd(), resultsFile)}`);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

interface IngestFigures {
  rowsPerS: number;
  /** CPU time per row, all threads (chDB runs in this process: parsing, views, merges count too); 2 cores / this = the ceiling. */
  cpuUsPerRow: number;
  loadAverage1m: number;
  eventLoopDelayP99Ms: number;
  eventLoopDelayMaxMs: number;
  maxWriteCallMs: number;
}

/** Pushes `events` through a writer encoding `format`, checks they all landed, empties the tables. */
async function ingest(
  store: AnalyticsStore, db: ChdbBackend, events: MetadataEvent[], format: InsertFormat, spoolDir: string, log: Logger,
): Promise<IngestFigures> {
  const target: BatchTarget = { format, insertBatch: (id, payload, f) => store.insertBatch(id, payload, f) };
  const writer = new ClickHouseSink({
    target,
    spool: new Spool(spoolDir, 1024 ** 3),
    log,
    batchRows: P.batchRows,
    flushIntervalMs: 1_000,
    maxBufferedRows: events.length + P.batchRows,
  });
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  let maxWriteMs = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < events.length; i += P.writeChunk) {
    const w0 = performance.now();
    writer.write(events.slice(i, i + P.writeChunk));
    maxWriteMs = Math.max(maxWriteMs, performance.now() - w0);
    if ((i / P.writeChunk) % 50 === 0) await new Promise((r) => setImmediate(r)); // let the pump and timers run, as a live hub would
  }
  await writer.flush();
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  loop.disable();
  await writer.close();
  const landed = await countRows(db);
  if (landed !== events.length) throw new Error(`ingest (${format}): ${landed} rows landed, ${events.length} written`);
  for (const t of ANALYTICS_TABLES) await db.command(`TRUNCATE TABLE ${t}`);
  return {
    rowsPerS: Math.round(events.length / (ms / 1000)),
    cpuUsPerRow: round((cpu.user + cpu.system) / events.length, 1),
    loadAverage1m: round(os.loadavg()[0] ?? 0, 1),
    eventLoopDelayP99Ms: round(loop.percentile(99) / 1e6, 1),
    eventLoopDelayMaxMs: round(loop.max / 1e6, 1),
    maxWriteCallMs: round(maxWriteMs, 2),
  };
}

async function countRows(db: ChdbBackend): Promise<number> {
  return Number((await db.query<{ n: string }>('SELECT count() AS n FROM message_log'))[0]?.n ?? 0);
}
