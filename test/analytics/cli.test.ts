import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChdbBackend } from '../../analytics/chdb-backend.ts';
import { trailingYear } from '../../analytics/reports.ts';
import { encodeBatch } from '../../analytics/rows.ts';
import { AnalyticsStore } from '../../analytics/store.ts';
import { generate, oracle } from './synthetic.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

describe('parley analytics (CLI against the embedded chDB of the data dir)', () => {
  let dataDir: string;
  const events = generate(3_000, new Date(), 7);
  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'parley-cli-analytics-'));
    const db = await ChdbBackend.open({ path: path.join(dataDir, 'clickhouse') });
    const store = new AnalyticsStore(db, { retentionMonths: 13 });
    await store.ensureSchema();
    await store.insertBatch('cli-seed', encodeBatch(events));
    await store.close();
  });
  afterAll(() => {
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  const cli = (...args: string[]) =>
    spawnSync(process.execPath, [path.join(root, 'bin/parley.js'), 'analytics', ...args], {
      cwd: root,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', PARLEY_DATA_DIR: dataDir },
      encoding: 'utf8',
      timeout: 60_000,
    });

  it('prints a report as JSON, equal to the known answer', () => {
    const r = cli('report', 'monthly', '--format', 'json');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual(oracle.monthly(events, trailingYear()));
  });

  it('runs a SELECT as CSV, and refuses anything that writes', () => {
    const ok = cli('sql', 'SELECT count() AS n FROM message_log', '--format', 'csv');
    expect(ok.status).toBe(0);
    expect(ok.stdout).toBe(`n\r\n${events.length}\r\n`);
    const drop = cli('sql', 'DROP TABLE message_log');
    expect(drop.status).toBe(2);
    expect(drop.stderr).toMatch(/only SELECT/);
    const sneaky = cli('sql', "SELECT * FROM file('/etc/hostname', 'LineAsString')");
    expect(sneaky.status).toBe(2);
    expect(sneaky.stderr).toMatch(/read-only/);
    expect(cli('sql', 'SELECT count() AS n FROM message_log', '--format', 'csv').stdout).toBe(`n\r\n${events.length}\r\n`);
  });

  it('rejects bad parameters with exit code 2', () => {
    const r = cli('report', 'monthly', '--from', "2024-01-01' OR 1=1");
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/from: must be a date/);
  });
});
