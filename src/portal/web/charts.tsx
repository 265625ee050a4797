import { useEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { downloadCsv, toCsv, type Row } from './csv.ts';
import { fmtNumber } from './ui.tsx';

export const PALETTE = ['#2563eb', '#d97706', '#059669', '#db2777', '#7c3aed', '#0891b2', '#65a30d', '#dc2626'];

export interface Series {
  label: string;
  /** One value per x. */
  values: number[];
}

export interface ChartCardProps {
  id: string;
  title: string;
  /** Table and CSV columns, in order. */
  columns: readonly string[];
  rows: readonly Row[];
  empty: string;
  kind: 'time' | 'bars';
  /** time: month starts (YYYY-MM-DD) on x; bars: category labels. */
  x: readonly string[];
  series: readonly Series[];
  onDrawn: (id: string) => void;
}

/** A chart with a table view toggle and CSV export of exactly the rows it was given. */
export function ChartCard(p: ChartCardProps) {
  const [table, setTable] = useState(false);
  const headingId = `${p.id}-title`;
  const isEmpty = p.rows.length === 0;
  useEffect(() => {
    if (isEmpty) p.onDrawn(p.id);
  }, [isEmpty, p.id]);
  return (
    <section class="card chart-card" aria-labelledby={headingId} data-chart={p.id}>
      <header class="card-head">
        <h2 id={headingId}>{p.title}</h2>
        <div class="card-tools">
          <button type="button" aria-pressed={table} onClick={() => setTable(!table)} data-action="toggle-table">
            {table ? 'Chart view' : 'Table view'}
          </button>
          <button type="button" disabled={isEmpty} onClick={() => downloadCsv(`${p.id}.csv`, toCsv(p.columns, p.rows))} data-action="csv">
            Export CSV
          </button>
        </div>
      </header>
      {isEmpty ? (
        <p class="empty">{p.empty}</p>
      ) : table ? (
        <DataTable columns={p.columns} rows={p.rows} caption={p.title} />
      ) : p.kind === 'time' ? (
        <TimeChart id={p.id} x={p.x} series={p.series} onDrawn={p.onDrawn} title={p.title} />
      ) : (
        <BarChart id={p.id} x={p.x} series={p.series} onDrawn={p.onDrawn} title={p.title} />
      )}
    </section>
  );
}

export function DataTable({ columns, rows, caption }: { columns: readonly string[]; rows: readonly Row[]; caption: string }) {
  return (
    <div class="table-wrap" tabIndex={0} role="region" aria-label={`${caption} (table)`}>
      <table>
        <caption class="sr-only">{caption}</caption>
        <thead>
          <tr>
            {columns.map((c) => (
              <th scope="col" key={c}>
                {c}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((r, i) => (
            <tr key={i}>
              {columns.map((c) => (
                <td key={c} class={typeof r[c] === 'number' ? 'num' : undefined}>
                  {typeof r[c] === 'number' ? String(r[c]) : (r[c] ?? '')}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

interface DrawProps {
  id: string;
  title: string;
  x: readonly string[];
  series: readonly Series[];
  onDrawn: (id: string) => void;
}

const monthSeconds = (d: string): number => Date.parse(`${d.slice(0, 10)}T00:00:00Z`) / 1000;

function TimeChart({ id, title, x, series, onDrawn }: DrawProps) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const width = Math.max(260, el.clientWidth);
    const opts: uPlot.Options = {
      width,
      height: width < 500 ? 200 : 240,
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
      // Counts start at zero: a chart whose axis starts elsewhere exaggerates small changes.
      scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.08 : 1] } },
      axes: [{ values: '{MMM} {YY}' as unknown as uPlot.Axis.Values }, { values: (_u, vals) => vals.map((v) => fmtNumber(v)), size: 60 }],
      series: [{}, ...series.map((s, i) => ({ label: s.label, stroke: PALETTE[i % PALETTE.length] as string, width: 2, points: { show: true } }))],
      hooks: { draw: [() => onDrawn(id)] },
    };
    const data = [x.map(monthSeconds), ...series.map((s) => s.values)] as uPlot.AlignedData;
    const plot = new uPlot(opts, data, el);
    const ro = new ResizeObserver(() => {
      const w = Math.max(260, el.clientWidth);
      if (Math.abs(w - plot.width) > 4) plot.setSize({ width: w, height: w < 500 ? 200 : 240 });
    });
    ro.observe(el);
    return () => {
      ro.disconnect();
      plot.destroy();
    };
  }, [x, series]);
  return <div class="plot" ref={box} role="img" aria-label={`${title}: chart; use Table view for the figures`} />;
}

/** Horizontal bars (first series): label, an SVG bar, the figure. No inline styles (CSP-safe). */
function BarChart({ id, title, x, series, onDrawn }: DrawProps) {
  useEffect(() => onDrawn(id), [x, series]);
  const values = series[0]?.values ?? [];
  const max = Math.max(1, ...values);
  return (
    <ol class="bars" aria-label={`${title}: chart; use Table view for the figures`}>
      {x.map((label, i) => {
        const v = values[i] ?? 0;
        return (
          <li key={label} class="bar-row">
            <span class="bar-label">{label}</span>
            <svg class="bar" viewBox="0 0 100 10" preserveAspectRatio="none" aria-hidden="true">
              <rect x="0" y="0" width={(100 * v) / max} height="10" fill={PALETTE[0]} />
            </svg>
            <span class="num">{fmtNumber(v)}</span>
          </li>
        );
      })}
    </ol>
  );
}
