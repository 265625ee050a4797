/**
 * The portal benchmark (docs/portal.md, docs/benchmarks.md): over N metadata
 * rows in embedded chDB (default 100,000,000, generated inside ClickHouse),
 *  - overview_api_ms: the four report calls behind the Overview page, made
 *    over HTTP in parallel as the page makes them, median of warm runs;
 *  - overview_ready_ms: Debian's Chromium, a fresh browser context per run
 *    (no cache), from navigation start until every Overview chart has drawn
 *    (the page's own mark, body[data-ready-ms]), median;
 *  - bundle_gzip_kb: the built page, scripts and styles, gzip -9.
 * In the same run the same figures with a proposed monthly rollup
 * (usage_monthly, below) for the three split reports.
 * PORTAL_BENCH_DIR keeps the dataset between runs (generation takes ~15-25 min
 * for 1e8 rows here); without it a temp dir is used and removed.
 */
import { mkdirSync, mkdtempSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ChdbBackend } from '../analytics/chdb-backend.ts';
import { trailingYear, type ReportName } from '../analytics/reports.ts';
import { AnalyticsStore } from '../analytics/store.ts';
import { bundleGzipBytes } from '../src/portal/serve.ts';
import { launchChromium } from '../test/support/chromium.ts';
import { ensurePortalBuilt, startPortalServer, type PortalServer } from '../test/portal/harness.ts';
import { machineInfo } from './lib/env.ts';
import { prepareDataset } from './lib/portal-data.ts';
import { round } from './lib/stats.ts';
import { printTable } from './lib/table.ts';

const num = (name: string, fallback: number): number => {
  const v = Number(process.env[name]);
  return Number.isFinite(v) && v > 0 ? v : fallback;
};

const P = {
  rows: num('PORTAL_ROWS', 100_000_000),
  apiRuns: num('PORTAL_API_RUNS', 7),
  readyRuns: num('PORTAL_READY_RUNS', 5),
};
const TARGETS = { overview_api_ms: 150, overview_ready_ms: 1500, bundle_gzip_kb: 250 };
const resultsFile = path.join(path.dirname(fileURLToPath(import.meta.url)), 'results', 'portal.json');

/**
 * Proposed coarser rollup for the split reports: per month instead of per day,
 * without type and outcome (the Overview never splits by them). Filled here
 * from usage_daily; in Parley it would be a migration with a materialized view
 * on message_log (same SELECT as usage_daily_mv with toStartOfMonth(ts) and
 * without type/outcome). Used when from/to are month starts (the Overview's
 * trailing 12 months always are).
 */
export const USAGE_MONTHLY = {
  create: `CREATE TABLE IF NOT EXISTS usage_monthly (
      month_start Date, tenant LowCardinality(String), internal UInt8, platform LowCardinality(String), domain LowCardinality(String),
      messages_domain SimpleAggregateFunction(sum, UInt64), messages_platform SimpleAggregateFunction(sum, UInt64),
      messages_class SimpleAggregateFunction(sum, UInt64), users AggregateFunction(uniqCombined(14), String)
    ) ENGINE = AggregatingMergeTree PARTITION BY toYYYYMM(month_start) ORDER BY (tenant, month_start, internal, platform, domain)`,
  fill: `INSERT INTO usage_monthly SELECT toStartOfMonth(day) AS month_start, tenant, internal, platform, domain,
      sum(messages_domain), sum(messages_platform), sum(messages_class), uniqCombinedMergeState(14)(users)
    FROM usage_daily GROUP BY month_start, tenant, internal, platform, domain SETTINGS insert_deduplicate = 0`,
};
const MONTHLY_WHERE = `month_start >= {from:Date} AND month_start < {to:Date} AND ({tenant:String} = '' OR tenant = {tenant:String})`;
export const MONTHLY_SQL: Partial<Record<ReportName, string>> = {
  'monthly-by-side': `SELECT toString(month_start) AS month, if(internal = 1, 'internal', 'external') AS side,
      uniqCombinedMerge(14)(users) AS users, sum(messages_class) AS messages
    FROM usage_monthly WHERE ${MONTHLY_WHERE} GROUP BY month, side ORDER BY month, side`,
  'monthly-by-platform': `SELECT toString(month_start) AS month, toString(platform) AS platform, uniqCombinedMerge(14)(users) AS users,
      sum(messages_platform) AS messages
    FROM usage_monthly WHERE ${MONTHLY_WHERE} GROUP BY month, platform ORDER BY month, platform`,
  'top-domains': `SELECT toString(domain) AS domain, uniqCombinedMerge(14)(users) AS users, sum(messages_domain) AS messages
    FROM usage_monthly WHERE ${MONTHLY_WHERE} AND internal = 0
    GROUP BY domain ORDER BY messages DESC, domain LIMIT {limit:UInt32}`,
};

/**
 * Proposal B, one small monthly rollup per Overview report (filled here from
 * usage_monthly; in Parley, views on message_log or a periodic fold of the
 * daily rollups): tenant_monthly (24 rows a year for 2 tenants), side_monthly
 * (48), platform_monthly (72); top-domains stays on usage_monthly but merges
 * user states only for the domains that make the top N (ranked first by the
 * message sums, which read no states).
 */
export const PER_REPORT_MONTHLY = {
  create: [
    `CREATE TABLE IF NOT EXISTS tenant_monthly (month_start Date, tenant LowCardinality(String), messages SimpleAggregateFunction(sum, UInt64),
      users AggregateFunction(uniqCombined(14), String)) ENGINE = AggregatingMergeTree ORDER BY (tenant, month_start)`,
    `CREATE TABLE IF NOT EXISTS side_monthly (month_start Date, tenant LowCardinality(String), internal UInt8, messages SimpleAggregateFunction(sum, UInt64),
      users AggregateFunction(uniqCombined(14), String)) ENGINE = AggregatingMergeTree ORDER BY (tenant, month_start, internal)`,
    `CREATE TABLE IF NOT EXISTS platform_monthly (month_start Date, tenant LowCardinality(String), platform LowCardinality(String),
      messages SimpleAggregateFunction(sum, UInt64), users AggregateFunction(uniqCombined(14), String))
      ENGINE = AggregatingMergeTree ORDER BY (tenant, month_start, platform)`,
  ],
  fill: [
    `INSERT INTO tenant_monthly SELECT toStartOfMonth(day) AS month_start, tenant, sum(messages), uniqCombinedMergeState(14)(users)
      FROM tenant_daily GROUP BY month_start, tenant SETTINGS insert_deduplicate = 0`,
    `INSERT INTO side_monthly SELECT month_start, tenant, internal, sum(messages_class), uniqCombinedMergeState(14)(users)
      FROM usage_monthly GROUP BY month_start, tenant, internal SETTINGS insert_deduplicate = 0`,
    `INSERT INTO platform_monthly SELECT month_start, tenant, platform, sum(messages_platform), uniqCombinedMergeState(14)(users)
      FROM usage_monthly GROUP BY month_start, tenant, platform SETTINGS insert_deduplicate = 0`,
  ],
  tables: ['tenant_monthly', 'side_monthly', 'platform_monthly'],
};
export const PER_REPORT_SQL: Partial<Record<ReportName, string>> = {
  monthly: `SELECT toString(month_start) AS month, uniqCombinedMerge(14)(users) AS users, sum(messages) AS messages
    FROM tenant_monthly WHERE ${MONTHLY_WHERE} GROUP BY month ORDER BY month`,
  'monthly-by-side': `SELECT toString(month_start) AS month, if(internal = 1, 'internal', 'external') AS side,
      uniqCombinedMerge(14)(users) AS users, sum(messages) AS messages
    FROM side_monthly WHERE ${MONTHLY_WHERE} GROUP BY month, side ORDER BY month, side`,
  'monthly-by-platform': `SELECT toString(month_start) AS month, toString(platform) AS platform, uniqCombinedMerge(14)(users) AS users,
      sum(messages) AS messages
    FROM platform_monthly WHERE ${MONTHLY_WHERE} GROUP BY month, platform ORDER BY month, platform`,
  'top-domains': `SELECT toString(domain) AS domain, uniqCombinedMerge(14)(users) AS users, sum(messages_domain) AS messages
    FROM usage_monthly WHERE ${MONTHLY_WHERE} AND internal = 0 AND domain IN (
      SELECT domain FROM usage_monthly WHERE ${MONTHLY_WHERE} AND internal = 0
      GROUP BY domain ORDER BY sum(messages_domain) DESC, domain LIMIT {limit:UInt32})
    GROUP BY domain ORDER BY messages DESC, domain`,
};

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
};

/** The Overview's calls, exactly as the page makes them (pages/overview.tsx loadOverview). */
function overviewUrls(base: string): string[] {
  const q = new URLSearchParams({ ...trailingYear(), tenant: '' });
  const top = new URLSearchParams({ ...trailingYear(), tenant: '', limit: '10' });
  return [
    `${base}/admin/api/v1/reports/monthly?${q}`,
    `${base}/admin/api/v1/reports/monthly-by-side?${q}`,
    `${base}/admin/api/v1/reports/monthly-by-platform?${q}`,
    `${base}/admin/api/v1/reports/top-domains?${top}`,
  ];
}

async function fetchAll(urls: string[]): Promise<string[]> {
  return Promise.all(
    urls.map(async (u) => {
      const r = await fetch(u);
      const t = await r.text();
      if (!r.ok) throw new Error(`${u}: ${r.status} ${t}`);
      return t;
    }),
  );
}

interface Figures {
  api_cold_ms: number;
  api_ms: number;
  per_report_ms: Record<string, number>;
  ready_ms: number;
  ready_runs: number[];
  bodies: string[];
}

async function measure(portal: PortalServer, label: string): Promise<Figures> {
  const urls = overviewUrls(portal.url);
  const c0 = performance.now();
  const bodies = await fetchAll(urls);
  const api_cold_ms = round(performance.now() - c0, 1);
  const runs: number[] = [];
  for (let i = 0; i < P.apiRuns; i++) {
    const t = performance.now();
    await fetchAll(urls);
    runs.push(performance.now() - t);
  }
  const per_report_ms: Record<string, number> = {};
  for (const u of urls) {
    const name = new URL(u).pathname.split('/').pop() as string;
    const xs: number[] = [];
    for (let i = 0; i < 3; i++) {
      const t = performance.now();
      await fetchAll([u]);
      xs.push(performance.now() - t);
    }
    per_report_ms[name] = round(median(xs), 1);
  }
  const browser = await launchChromium();
  const ready_runs: number[] = [];
  try {
    for (let i = 0; i < P.readyRuns + 1; i++) {
      const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      const page = await context.newPage();
      await page.goto(`${portal.url}/portal/#/overview`);
      await page.waitForSelector('body[data-ready="overview"]', { timeout: 120_000 });
      const ms = Number(await page.evaluate<string>('document.body.dataset.readyMs'));
      if (i > 0) ready_runs.push(ms); // the first run warms Chromium itself up
      await context.close();
    }
  } finally {
    await browser.close();
  }
  console.log(`  ${label}: api ${round(median(runs), 1)} ms, ready ${median(ready_runs)} ms`);
  return { api_cold_ms, api_ms: round(median(runs), 1), per_report_ms, ready_ms: median(ready_runs), ready_runs, bodies };
}

export async function run(): Promise<void> {
  ensurePortalBuilt();
  const keep = process.env.PORTAL_BENCH_DIR;
  const dir = keep ?? mkdtempSync(path.join(os.tmpdir(), 'parley-bench-portal-'));
  mkdirSync(dir, { recursive: true });
  const s = statfsSync(dir);
  const freeGb = (s.bavail * s.bsize) / 1024 ** 3;
  console.log(`\nportal benchmark: ${P.rows.toLocaleString('en-US')} rows in ${dir} (${round(freeGb, 1)} GB free)`);
  const db = await ChdbBackend.open({ path: path.join(dir, 'clickhouse') });
  const store = new AnalyticsStore(db, { retentionMonths: 13 });
  const extra: Record<string, unknown> = {};
  try {
    await store.ensureSchema();
    const data = await prepareDataset(store, db, dir, P.rows, (m) => console.log(`  ${m}`));
    extra.dataset = data;

    const bundle = round(bundleGzipBytes() / 1024, 1);
    // The floor on this machine in this run: a query that reads nothing, and the same through HTTP + zod.
    const floor: number[] = [];
    for (let i = 0; i < 9; i++) {
      const t = performance.now();
      await db.query('SELECT 1 AS x');
      floor.push(performance.now() - t);
    }
    extra.chdb_select_1_ms = round(median(floor), 1);
    extra.load_average_1m = round(os.loadavg()[0] ?? 0, 1);

    // 1. The rollups Parley has today (tenant_daily, usage_daily).
    const measured = async (label: string, opts: Parameters<typeof startPortalServer>[1]): Promise<Figures> => {
      const portal = await startPortalServer(store, opts);
      try {
        return await measure(portal, label);
      } finally {
        await portal.close();
      }
    };
    const today = await measured('current rollups', {});

    // 2. The same with the proposed monthly rollup for the split reports.
    await db.command(USAGE_MONTHLY.create);
    const m0 = performance.now();
    await db.command('TRUNCATE TABLE usage_monthly');
    await db.command(USAGE_MONTHLY.fill);
    await db.command('OPTIMIZE TABLE usage_monthly FINAL');
    extra.usage_monthly_fill_s = round((performance.now() - m0) / 1000, 1);
    extra.usage_monthly_rows = Number((await db.query<{ n: string }>('SELECT count() AS n FROM usage_monthly'))[0]?.n ?? 0);
    const monthly = await measured('proposed usage_monthly', { sql: MONTHLY_SQL });

    // 3. Proposal B: one small monthly rollup per report.
    const b0 = performance.now();
    for (const c of PER_REPORT_MONTHLY.create) await db.command(c);
    for (const t of PER_REPORT_MONTHLY.tables) await db.command(`TRUNCATE TABLE ${t}`);
    for (const f of PER_REPORT_MONTHLY.fill) await db.command(f);
    for (const t of PER_REPORT_MONTHLY.tables) await db.command(`OPTIMIZE TABLE ${t} FINAL`);
    extra.per_report_monthly_fill_s = round((performance.now() - b0) / 1000, 1);
    const perReport = await measured('proposed per-report monthly rollups', { sql: PER_REPORT_SQL });
    const sameB = JSON.stringify(today.bodies.map((b) => JSON.parse(b) as unknown)) === JSON.stringify(perReport.bodies.map((b) => JSON.parse(b) as unknown));
    extra.per_report_monthly_same_answers = sameB;
    if (!sameB) console.log('  WARNING: per-report monthly answers differ from usage_daily answers');
    const same = JSON.stringify(today.bodies.map((b) => JSON.parse(b) as unknown)) === JSON.stringify(monthly.bodies.map((b) => JSON.parse(b) as unknown));
    extra.monthly_rollup_same_answers = same;
    if (!same) console.log('  WARNING: usage_monthly answers differ from usage_daily answers');

    const results = { overview_api_ms: today.api_ms, overview_ready_ms: today.ready_ms, bundle_gzip_kb: bundle };
    Object.assign(extra, {
      overview_api_cold_ms: today.api_cold_ms,
      per_report_ms: today.per_report_ms,
      overview_ready_runs_ms: today.ready_runs,
      with_usage_monthly: { overview_api_ms: monthly.api_ms, overview_api_cold_ms: monthly.api_cold_ms, overview_ready_ms: monthly.ready_ms, per_report_ms: monthly.per_report_ms, ready_runs_ms: monthly.ready_runs },
      with_per_report_monthly: { overview_api_ms: perReport.api_ms, overview_api_cold_ms: perReport.api_cold_ms, overview_ready_ms: perReport.ready_ms, per_report_ms: perReport.per_report_ms, ready_runs_ms: perReport.ready_runs },
    });
    const met = (k: keyof typeof TARGETS, v: number) => (v <= TARGETS[k] ? 'yes' : 'NO');
    console.log('');
    printTable(
      ['metric', 'current rollups', 'with usage_monthly', 'per-report monthly', 'target', 'met (current)'],
      [
        ['overview_api_ms', today.api_ms, monthly.api_ms, perReport.api_ms, TARGETS.overview_api_ms, met('overview_api_ms', today.api_ms)],
        ['overview_ready_ms', today.ready_ms, monthly.ready_ms, perReport.ready_ms, TARGETS.overview_ready_ms, met('overview_ready_ms', today.ready_ms)],
        ['bundle_gzip_kb', bundle, bundle, bundle, TARGETS.bundle_gzip_kb, met('bundle_gzip_kb', bundle)],
      ],
    );
    console.log('');
    printTable(
      ['report (ms, alone)', 'current rollups', 'with usage_monthly', 'per-report monthly'],
      Object.keys(today.per_report_ms).map((k) => [k, today.per_report_ms[k] ?? 0, monthly.per_report_ms[k] ?? 0, perReport.per_report_ms[k] ?? 0]),
    );
    mkdirSync(path.dirname(resultsFile), { recursive: true });
    writeFileSync(resultsFile, `${JSON.stringify({ benchmark: 'portal', machine: { ...machineInfo(), chdb: '3.4.0' }, params: P, results, targets: TARGETS, extra }, null, 2)}\n`);
    console.log(`results written to ${path.relative(process.cwd(), resultsFile)}`);
  } finally {
    await store.close();
    if (!keep) rmSync(dir, { recursive: true, force: true });
  }
}
