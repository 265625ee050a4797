/**
 * The portal benchmark (docs/portal.md, docs/benchmarks.md): over N metadata
 * rows in embedded chDB (default 100,000,000, generated inside ClickHouse),
 *  - overview_api_ms: the four report calls behind the Overview page, made
 *    over HTTP in parallel as the page makes them, median of warm runs;
 *  - overview_ready_ms: Debian's Chromium, a fresh browser context per run
 *    (no cache), from navigation start until every Overview chart has drawn
 *    (the page's own mark, body[data-ready-ms]), median;
 *  - bundle_gzip_kb: the built page, scripts and styles, gzip -9.
 * In the same run the same figures with every report on the daily rollups
 * (what Parley read before the monthly rollups of migration 6), and a check
 * that both give the same answers.
 * PORTAL_BENCH_DIR keeps the dataset between runs (generation takes ~15-25 min
 * for 1e8 rows here); without it a temp dir is used and removed.
 */
import { mkdirSync, mkdtempSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ChdbBackend } from '../analytics/chdb-backend.ts';
import { trailingYear } from '../analytics/reports.ts';
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

    const measured = async (label: string, opts: Parameters<typeof startPortalServer>[1]): Promise<Figures> => {
      const portal = await startPortalServer(store, opts);
      try {
        return await measure(portal, label);
      } finally {
        await portal.close();
      }
    };
    // What the Overview reads: the monthly rollups (whole months), then the daily rollups alone, same data.
    const today = await measured('monthly rollups', { source: 'rollup' });
    const daily = await measured('daily rollups only', { source: 'daily' });
    const same = JSON.stringify(today.bodies.map((b) => JSON.parse(b) as unknown)) === JSON.stringify(daily.bodies.map((b) => JSON.parse(b) as unknown));
    extra.monthly_and_daily_same_answers = same;
    if (!same) throw new Error('the monthly rollups answer differently from the daily rollups');
    extra.monthly_rollup_rows = Object.fromEntries(
      (await db.query<{ table: string; rows: string }>(
        "SELECT table, toString(sum(rows)) AS rows FROM system.parts WHERE active AND database = currentDatabase() AND table LIKE '%_monthly' GROUP BY table ORDER BY table",
      )).map((r) => [r.table, Number(r.rows)]),
    );

    const results = { overview_api_ms: today.api_ms, overview_ready_ms: today.ready_ms, bundle_gzip_kb: bundle };
    Object.assign(extra, {
      overview_api_cold_ms: today.api_cold_ms,
      per_report_ms: today.per_report_ms,
      overview_ready_runs_ms: today.ready_runs,
      daily_rollups_only: { overview_api_ms: daily.api_ms, overview_api_cold_ms: daily.api_cold_ms, overview_ready_ms: daily.ready_ms, per_report_ms: daily.per_report_ms, ready_runs_ms: daily.ready_runs },
      daily_over_monthly_api_ratio: round(daily.api_ms / today.api_ms, 1),
    });
    const met = (k: keyof typeof TARGETS, v: number) => (v <= TARGETS[k] ? 'yes' : 'NO');
    console.log('');
    printTable(
      ['metric', 'monthly rollups (Parley)', 'daily rollups only', 'target', 'met'],
      [
        ['overview_api_ms', today.api_ms, daily.api_ms, TARGETS.overview_api_ms, met('overview_api_ms', today.api_ms)],
        ['overview_ready_ms', today.ready_ms, daily.ready_ms, TARGETS.overview_ready_ms, met('overview_ready_ms', today.ready_ms)],
        ['bundle_gzip_kb', bundle, bundle, TARGETS.bundle_gzip_kb, met('bundle_gzip_kb', bundle)],
      ],
    );
    console.log('');
    printTable(
      ['report (ms, alone)', 'monthly rollups (Parley)', 'daily rollups only'],
      Object.keys(today.per_report_ms).map((k) => [k, today.per_report_ms[k] ?? 0, daily.per_report_ms[k] ?? 0]),
    );
    mkdirSync(path.dirname(resultsFile), { recursive: true });
    writeFileSync(resultsFile, `${JSON.stringify({ benchmark: 'portal', machine: { ...machineInfo(), chdb: '3.4.0' }, params: P, results, targets: TARGETS, extra }, null, 2)}\n`);
    console.log(`results written to ${path.relative(process.cwd(), resultsFile)}`);
  } finally {
    await store.close();
    if (!keep) rmSync(dir, { recursive: true, force: true });
  }
}
