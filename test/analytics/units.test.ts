import { describe, expect, it } from 'vitest';
import { checkReadOnlySql } from '../../analytics/sql-guard.ts';
import { tsvEscape, tsvTime } from '../../analytics/rows.ts';
import { trailingYear } from '../../analytics/reports.ts';
import { loadConfig, parseConfig } from '../../src/config/load.ts';

describe('analytics config', () => {
  it('defaults to embedded chDB with 13 months of retention', () => {
    const c = parseConfig({});
    expect(c.analytics).toMatchObject({ backend: 'chdb', retentionMonths: 13, batchRows: 100_000, flushIntervalMs: 1_000, maxBufferedRows: 500_000 });
    expect(c.analytics.url).toBeUndefined();
  });
  it('CLICKHOUSE_URL selects the server backend; PARLEY_ANALYTICS_* set the rest', () => {
    const c = loadConfig({ CLICKHOUSE_URL: 'http://ch:8123/parley', PARLEY_ANALYTICS_RETENTION_MONTHS: '24', PARLEY_ANALYTICS_BATCH_ROWS: '500' });
    expect(c.analytics).toMatchObject({ backend: 'clickhouse', url: 'http://ch:8123/parley', retentionMonths: 24, batchRows: 500 });
    expect(loadConfig({ CLICKHOUSE_URL: 'http://ch:8123', PARLEY_ANALYTICS_BACKEND: 'memory' }).analytics.backend).toBe('memory');
  });
  it('refuses bad values, naming the variable', () => {
    expect(() => loadConfig({ CLICKHOUSE_URL: 'ftp://x' })).toThrow(/analytics\.url.*CLICKHOUSE_URL/);
    expect(() => loadConfig({ PARLEY_ANALYTICS_RETENTION_MONTHS: '0' })).toThrow(/retentionMonths/);
    expect(() => parseConfig({ analytics: { backend: 'clickhouse' } })).toThrow(/url/);
    expect(() => parseConfig({ analytics: { backend: 'oracle' } })).toThrow(/backend/);
  });
});

describe('read-only SQL check', () => {
  it('accepts one SELECT or WITH query', () => {
    expect(checkReadOnlySql(' select 1; ')).toBe('select 1');
    expect(checkReadOnlySql('-- hi\nWITH x AS (SELECT 1) SELECT * FROM x')).toContain('WITH');
    expect(checkReadOnlySql("SELECT ';' AS semi, 'INTO OUTFILE' AS s")).toContain('semi');
  });
  it.each([
    ['INSERT INTO message_log SELECT * FROM message_log', /only SELECT/],
    ['ALTER TABLE message_log DELETE WHERE 1', /only SELECT/],
    ['/* SELECT */ DROP TABLE message_log', /only SELECT/],
    ['SELECT 1; DROP TABLE message_log', /one statement/],
    ["SELECT 1 INTO OUTFILE '/tmp/x'", /OUTFILE/],
    ['SELECT 1 FORMAT Native', /FORMAT/],
    ["SELECT 'unterminated", /unterminated/],
    ['', /empty/],
  ])('rejects %s', (sql, err) => {
    expect(() => checkReadOnlySql(sql)).toThrow(err);
  });
});

describe('row encoding', () => {
  it('escapes what would break TabSeparated', () => {
    expect(tsvEscape('a\tb\nc\\d\re\0')).toBe('a\\tb\\nc\\\\d\\re\\0');
    expect(tsvEscape('plain@x.example')).toBe('plain@x.example');
  });
  it('writes milliseconds exactly and replaces nonsense times by now', () => {
    expect(tsvTime(1_700_000_000_005)).toBe('1700000000.005');
    expect(tsvTime(1_700_000_000_120)).toBe('1700000000.120');
    const t = Number(tsvTime(Number.NaN));
    expect(Math.abs(t * 1000 - Date.now())).toBeLessThan(5_000);
  });
  it('the trailing year is twelve whole months ending with the current one', () => {
    expect(trailingYear(new Date('2026-03-15T10:00:00Z'))).toEqual({ from: '2025-04-01', to: '2026-04-01' });
    expect(trailingYear(new Date('2026-12-31T23:59:59Z'))).toEqual({ from: '2026-01-01', to: '2027-01-01' });
  });
});
