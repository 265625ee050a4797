/** Output of report and SQL rows for people and tools: aligned table, CSV or JSON. */
export type OutputFormat = 'table' | 'csv' | 'json';
export const OUTPUT_FORMATS: readonly OutputFormat[] = ['table', 'csv', 'json'];

type Row = Readonly<Record<string, unknown>>;

const cell = (v: unknown): string => (v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v));

/** Control characters (terminal escapes included) from hostile ids are shown, never interpreted. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const visible = (s: string): string => s.replace(/[\x00-\x1f\x7f-\x9f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);

/** RFC 4180 quoting; a text cell that a spreadsheet would run as a formula gets a leading apostrophe. */
function csvCell(v: unknown): string {
  let s = cell(v);
  if (typeof v === 'string' && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function formatRows(rows: readonly Row[], format: OutputFormat): string {
  const columns = rows.length > 0 ? Object.keys(rows[0] as Row) : [];
  if (format === 'json') return `${JSON.stringify(rows, null, 2)}\n`;
  if (format === 'csv') {
    const lines = [columns.map(csvCell).join(','), ...rows.map((r) => columns.map((c) => csvCell(r[c])).join(','))];
    return `${lines.join('\r\n')}\r\n`;
  }
  if (rows.length === 0) return '(no rows)\n';
  const cells = rows.map((r) => columns.map((c) => visible(cell(r[c]))));
  const numeric = columns.map((c) => rows.every((r) => typeof r[c] === 'number' || /^-?\d+(\.\d+)?$/.test(cell(r[c]))));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: readonly string[]): string =>
    r.map((v, i) => (numeric[i] ? v.padStart(widths[i] ?? 0) : v.padEnd(widths[i] ?? 0))).join('  ').trimEnd();
  return [line(columns.map(visible)), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(line)].join('\n') + '\n';
}
