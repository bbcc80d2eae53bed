// Hand-written SVG charts: each has a title and description for assistive technology, words in its
// legend (colour is never the only signal), and its figures as a table one click away.
import { useId, type ReactNode } from 'react';

export interface Series {
  key: string;
  label: string;
  color: string;
}

function niceMax(value: number): number {
  if (value <= 5) return Math.max(1, value);
  const magnitude = 10 ** Math.floor(Math.log10(value));
  return Math.ceil(value / magnitude) * magnitude;
}

export function ChartFrame({ title, children, table, tableLabel }: { title: string; children: ReactNode; table: ReactNode; tableLabel: string }) {
  return (
    <figure className="dash-chart panel">
      <figcaption>
        <h2>{title}</h2>
      </figcaption>
      {children}
      <details>
        <summary>{tableLabel}</summary>
        {table}
      </details>
    </figure>
  );
}

export function StackedBars({ title, desc, rows, series, formatLabel, testId }: { title: string; desc: string; rows: ({ label: string } & Record<string, number | string>)[]; series: Series[]; formatLabel: (label: string) => string; testId: string }) {
  const id = useId();
  const width = 720;
  const height = 240;
  const pad = { left: 34, right: 8, top: 10, bottom: 28 };
  const totals = rows.map((r) => series.reduce((sum, s) => sum + Number(r[s.key] ?? 0), 0));
  const max = niceMax(Math.max(0, ...totals));
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const slot = plotW / Math.max(1, rows.length);
  const barW = Math.max(2, Math.min(36, slot * 0.7));
  const y = (v: number) => pad.top + plotH - (v / max) * plotH;
  const labelEvery = Math.ceil(rows.length / 12);
  const ticks = [0, max / 2, max].filter((v, i, all) => all.indexOf(v) === i);
  return (
    <>
      <svg className="chart" viewBox={`0 0 ${width} ${height}`} role="img" aria-labelledby={`${id}-t ${id}-d`} data-testid={testId}>
        <title id={`${id}-t`}>{title}</title>
        <desc id={`${id}-d`}>{desc}</desc>
        {ticks.map((v) => (
          <g key={v}>
            <line className="axis" x1={pad.left} x2={width - pad.right} y1={y(v)} y2={y(v)} />
            <text x={pad.left - 6} y={y(v) + 4} textAnchor="end">
              {Number.isInteger(v) ? v : v.toFixed(1)}
            </text>
          </g>
        ))}
        {rows.map((row, i) => {
          let acc = 0;
          const x = pad.left + i * slot + (slot - barW) / 2;
          return (
            <g key={row.label}>
              {series.map((s) => {
                const v = Number(row[s.key] ?? 0);
                if (v === 0) return null;
                const top = y(acc + v);
                const h = y(acc) - top;
                acc += v;
                return (
                  <rect key={s.key} className="bar" data-series={s.key} x={x} y={top} width={barW} height={Math.max(0, h - 1)} fill={s.color}>
                    <title>{`${formatLabel(row.label)} · ${s.label}: ${v}`}</title>
                  </rect>
                );
              })}
              {totals[i]! > 0 ? (
                <text x={x + barW / 2} y={y(totals[i]!) - 3} textAnchor="middle" className="bar-total">
                  {totals[i]}
                </text>
              ) : null}
              {i % labelEvery === 0 ? (
                <text x={x + barW / 2} y={height - 10} textAnchor="middle">
                  {formatLabel(row.label)}
                </text>
              ) : null}
            </g>
          );
        })}
      </svg>
      <div className="legend" aria-hidden="true">
        {series.map((s) => (
          <span key={s.key}>
            <i style={{ background: s.color }} />
            {s.label}
          </span>
        ))}
      </div>
    </>
  );
}

export function HorizontalBars({ title, desc, rows, testId }: { title: string; desc: string; rows: { key: string; label: string; value: number; color: string }[]; testId: string }) {
  const id = useId();
  const width = 720;
  const rowH = 26;
  const labelW = 150;
  const height = rows.length * rowH + 8;
  const max = niceMax(Math.max(0, ...rows.map((r) => r.value)));
  const plotW = width - labelW - 50;
  return (
    <svg className="chart" viewBox={`0 0 ${width} ${height}`} role="img" aria-labelledby={`${id}-t ${id}-d`} data-testid={testId}>
      <title id={`${id}-t`}>{title}</title>
      <desc id={`${id}-d`}>{desc}</desc>
      {rows.map((r, i) => {
        const w = (r.value / max) * plotW;
        const yTop = 4 + i * rowH;
        return (
          <g key={r.key}>
            <text x={labelW - 8} y={yTop + rowH / 2 + 4} textAnchor="end" className="bar-label">
              {r.label}
            </text>
            <rect className="axis-bg" x={labelW} y={yTop + 3} width={plotW} height={rowH - 8} />
            {r.value > 0 ? (
              <rect className="bar" data-series={r.key} x={labelW} y={yTop + 3} width={Math.max(2, w)} height={rowH - 8} fill={r.color}>
                <title>{`${r.label}: ${r.value}`}</title>
              </rect>
            ) : null}
            <text x={labelW + Math.max(2, w) + 6} y={yTop + rowH / 2 + 4} className="bar-total">
              {r.value}
            </text>
          </g>
        );
      })}
    </svg>
  );
}
