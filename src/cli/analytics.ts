import { parseArgs } from 'node:util';
import { ZodError } from 'zod';
import type { ClickHouseBackend } from '../../analytics/backend.ts';
import { OUTPUT_FORMATS, formatRows, type OutputFormat } from '../../analytics/format.ts';
import { openBackend } from '../../analytics/open.ts';
import { REPORTS, REPORT_NAMES, SOURCES, isReportName, type Source } from '../../analytics/reports.ts';
import { checkReadOnlySql } from '../../analytics/sql-guard.ts';
import { AnalyticsStore } from '../../analytics/store.ts';
import { loadConfig } from '../config/load.ts';

export const ANALYTICS_USAGE = `usage:
  parley analytics report <name> [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--tenant T]
                                 [--domain D] [--user U] [--limit N]
                                 [--source rollup|daily|raw] [--format table|csv|json]
  parley analytics sql "<SELECT ...>" [--format table|csv|json]     (read-only)
  parley analytics erase <user address>                              (privacy erasure)
  parley analytics reports                                           (list the reports)

Dates are UTC days: --from is included, --to is not; the default is the trailing
12 months (the current month and the 11 before). The backend is the configured
one: CLICKHOUSE_URL, else the embedded chDB under PARLEY_DATA_DIR (which only one
process can open: stop Parley first, or use a ClickHouse server).`;

class UsageError extends Error {}

function fail(msg: string): never {
  throw new UsageError(msg);
}

async function withBackend<T>(readonly: boolean, fn: (db: ClickHouseBackend, store: AnalyticsStore) => Promise<T>): Promise<T> {
  const config = loadConfig();
  if (config.analytics.backend === 'memory') fail('analytics backend is "memory": there is no database to query');
  let db: ClickHouseBackend;
  try {
    db = await openBackend(config.analytics, config.dataDir, readonly);
  } catch (err) {
    const m = err instanceof Error ? err.message : String(err);
    if (/Cannot lock file|another server instance/i.test(m)) {
      fail(`the embedded ClickHouse under ${config.dataDir} is in use (is Parley running?); stop it, or point CLICKHOUSE_URL at a ClickHouse server`);
    }
    throw err;
  }
  const store = new AnalyticsStore(db, { retentionMonths: config.analytics.retentionMonths }, readonly);
  try {
    return await fn(db, store);
  } finally {
    await store.close();
  }
}

function format(v: string | undefined): OutputFormat {
  const f = v ?? 'table';
  if (!(OUTPUT_FORMATS as readonly string[]).includes(f)) fail(`--format must be one of ${OUTPUT_FORMATS.join(', ')}`);
  return f as OutputFormat;
}

async function report(args: readonly string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: [...args],
    allowPositionals: true,
    options: {
      from: { type: 'string' }, to: { type: 'string' }, tenant: { type: 'string' }, domain: { type: 'string' },
      user: { type: 'string' }, limit: { type: 'string' }, source: { type: 'string' }, format: { type: 'string' },
    },
  });
  const name = positionals[0];
  if (!name || positionals.length > 1) fail('report needs exactly one report name');
  if (!isReportName(name)) fail(`unknown report "${name}"; reports: ${REPORT_NAMES.join(', ')}`);
  const source = (values.source ?? 'rollup') as Source;
  if (!SOURCES.includes(source)) fail(`--source must be one of ${SOURCES.join(', ')}`);
  const out = format(values.format);
  const params: Record<string, string> = {};
  for (const k of ['from', 'to', 'tenant', 'domain', 'user', 'limit'] as const) if (values[k] !== undefined) params[k] = values[k];
  const rows = await withBackend(false, async (_db, store) => {
    await store.ensureSchema();
    return store.report(name, params, source);
  });
  process.stdout.write(formatRows(rows, out));
}

async function sql(args: readonly string[]): Promise<void> {
  const { values, positionals } = parseArgs({ args: [...args], allowPositionals: true, options: { format: { type: 'string' } } });
  if (positionals.length !== 1) fail('sql needs exactly one quoted query');
  let query: string;
  try {
    query = checkReadOnlySql(positionals[0] as string);
  } catch (err) {
    fail(`refused: ${(err as Error).message}`);
  }
  const out = format(values.format);
  const rows = await withBackend(true, (db) => db.query<Record<string, unknown>>(query));
  process.stdout.write(formatRows(rows, out));
}

async function erase(args: readonly string[]): Promise<void> {
  if (args.length !== 1 || !args[0]) fail('erase needs exactly one user address');
  const user = args[0];
  const res = await withBackend(false, (_db, store) => store.eraseUser(user));
  console.log(`erased ${res.rows} rows of ${user}; rollups rebuilt for ${res.months.length} month(s)`);
}

/** `parley analytics ...`; returns the exit code. */
export async function analyticsCommand(argv: readonly string[]): Promise<number> {
  const [sub, ...rest] = argv;
  try {
    switch (sub) {
      case 'report':
        await report(rest);
        return 0;
      case 'sql':
        await sql(rest);
        return 0;
      case 'erase':
        await erase(rest);
        return 0;
      case 'reports':
        for (const n of REPORT_NAMES) console.log(`${n.padEnd(20)} ${REPORTS[n].description}`);
        return 0;
      case undefined:
      case 'help':
      case '--help':
        console.log(ANALYTICS_USAGE);
        return 0;
      default:
        fail(`unknown analytics command "${sub}"`);
    }
  } catch (err) {
    if (err instanceof UsageError || (err instanceof TypeError && 'code' in err && String(err.code).startsWith('ERR_PARSE_ARGS'))) {
      console.error(`parley analytics: ${err.message}\n${ANALYTICS_USAGE}`);
      return 2;
    }
    if (err instanceof ZodError) {
      console.error(`parley analytics: invalid parameters: ${err.issues.map((i) => `${i.path.join('.') || '(input)'}: ${i.message}`).join('; ')}`);
      return 2;
    }
    if (err instanceof Error && /readonly|READONLY/.test(err.message)) {
      console.error(`parley analytics: refused (read-only): ${err.message.split('\n')[0]}`);
      return 2;
    }
    throw err;
  }
}

