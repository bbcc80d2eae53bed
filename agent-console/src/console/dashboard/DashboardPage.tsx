// Operations dashboard: KPI tiles, ended sessions per day by outcome, dial outcomes — over a range of
// local days in a chosen time zone, from GET /api/dashboard/operations.
import './dashboard.css';
import { useMemo, useState, type FormEvent } from 'react';
import { call, client } from '../../shared/api';
import { ErrorNote } from '../../shared/ErrorNote';
import { useLoad } from '../../shared/hooks';
import { formatDuration, useLocale, useT } from '../../shared/i18n';
import { dashboardMessages } from './messages';
import { ChartFrame, HorizontalBars, StackedBars, type Series } from './charts';

type Key = keyof (typeof dashboardMessages)['en'];
const CATEGORIES = ['PASSED', 'FAILED', 'EXHAUSTED', 'EXPIRED', 'CANCELLED'] as const;
type Category = (typeof CATEGORIES)[number];
const COLORS: Record<Category, string> = { PASSED: '#047857', FAILED: '#b91c1c', EXHAUSTED: '#b45309', EXPIRED: '#7c3aed', CANCELLED: '#64748b' };
const DIAL_COLORS: Record<string, string> = { ANSWERED: '#047857', BUSY: '#b45309', NO_ANSWER: '#d97706', DECLINED: '#b91c1c', INVALID_NUMBER: '#7c3aed', CARRIER_FAILURE: '#be123c', TRUNK_UNAVAILABLE: '#475569', RATE_LIMITED: '#0e7490' };

const browserZone = () => Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
const ZONES = ['Asia/Shanghai', 'Asia/Hong_Kong', 'Asia/Singapore', 'UTC', 'Europe/London', 'America/New_York'];

/** Today in the zone, as YYYY-MM-DD, and a day some days before it. */
function localToday(timeZone: string): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date());
}
function daysBefore(day: string, n: number): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) - n * 86_400_000).toISOString().slice(0, 10);
}

export default function DashboardPage() {
  const t = useT(dashboardMessages);
  const { locale } = useLocale();
  const zones = useMemo(() => [...new Set([browserZone(), ...ZONES])], []);
  const [draft, setDraft] = useState(() => {
    const timeZone = browserZone();
    const to = localToday(timeZone);
    return { from: daysBefore(to, 13), to, timeZone };
  });
  const [range, setRange] = useState(draft);
  const figures = useLoad((signal) => call(client.GET('/api/dashboard/operations', { params: { query: range }, signal })), [range.from, range.to, range.timeZone]);

  const apply = (event: FormEvent) => {
    event.preventDefault();
    setRange({ ...draft });
  };
  const preset = (days: number) => {
    const to = localToday(draft.timeZone);
    const next = { ...draft, from: daysBefore(to, days - 1), to };
    setDraft(next);
    setRange(next);
  };

  const f = figures.data;
  const series: Series[] = CATEGORIES.map((c) => ({ key: c, label: t(`cat${c}` as Key), color: COLORS[c] }));
  const dayLabel = (date: string) => new Intl.DateTimeFormat(locale, { month: 'numeric', day: 'numeric', timeZone: 'UTC' }).format(new Date(`${date}T00:00:00Z`));
  const percent = (v: number) => new Intl.NumberFormat(locale, { style: 'percent', maximumFractionDigits: 1 }).format(v);
  const seconds = (s: number | null) => (s === null ? t('none') : formatDuration(s * 1000));

  return (
    <div className="stack dashboard">
      <h1>{t('title')}</h1>
      <form className="panel dash-range" onSubmit={apply} aria-label={t('title')}>
        <label className="field">
          {t('from')}
          <input type="date" value={draft.from} max={draft.to} onChange={(e) => setDraft((d) => ({ ...d, from: e.target.value }))} required />
        </label>
        <label className="field">
          {t('to')}
          <input type="date" value={draft.to} min={draft.from} onChange={(e) => setDraft((d) => ({ ...d, to: e.target.value }))} required />
        </label>
        <label className="field">
          {t('timeZone')}
          <select value={draft.timeZone} onChange={(e) => setDraft((d) => ({ ...d, timeZone: e.target.value }))}>
            {zones.map((z) => (
              <option key={z} value={z}>
                {z}
              </option>
            ))}
          </select>
        </label>
        <div className="row dash-actions">
          <button type="submit" className="primary">
            {t('apply')}
          </button>
          <button type="button" onClick={() => preset(7)}>
            {t('last7')}
          </button>
          <button type="button" onClick={() => preset(30)}>
            {t('last30')}
          </button>
        </div>
      </form>
      <ErrorNote error={figures.error} />
      {f ? (
        <>
          <p className="hint" aria-live="polite">
            {t('rangeNote', { from: f.from, to: f.to, tz: f.timeZone })}
          </p>
          <div className="kpis" data-testid="kpis">
            <Kpi label={t('kpiEnded')} value={String(f.totals.total)} hint={f.totals.total > 0 ? `${t('kpiPassRate')} ${percent(f.totals.PASSED / f.totals.total)}` : ''} />
            <Kpi label={t('kpiHandle')} value={seconds(f.handleTime.averageSeconds)} hint={t('kpiHandleHint', { n: f.handleTime.conversations })} />
            <Kpi label={t('kpiWait')} value={seconds(f.queueWait.averageSeconds)} hint={t('kpiWaitHint', { n: f.queueWait.waits })} />
            <Kpi label={t('kpiNoShow')} value={f.noShow.rate === null ? t('none') : percent(f.noShow.rate)} hint={t('kpiNoShowHint', { missed: f.noShow.noShows, n: f.noShow.appointments })} />
          </div>
          <ChartFrame
            title={t('perDayTitle')}
            tableLabel={t('showTable')}
            table={
              <table className="data">
                <caption className="visually-hidden">{t('perDayTitle')}</caption>
                <thead>
                  <tr>
                    <th scope="col">{t('date')}</th>
                    {series.map((s) => (
                      <th scope="col" key={s.key}>
                        {s.label}
                      </th>
                    ))}
                    <th scope="col">{t('total')}</th>
                  </tr>
                </thead>
                <tbody>
                  {f.days.map((d) => (
                    <tr key={d.date}>
                      <th scope="row">{d.date}</th>
                      {CATEGORIES.map((c) => (
                        <td key={c}>{d[c]}</td>
                      ))}
                      <td>{d.total}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            }
          >
            {f.totals.total === 0 ? <p className="hint">{t('noData')}</p> : null}
            <StackedBars title={t('perDayTitle')} desc={t('perDayDesc')} rows={f.days.map((d) => ({ ...d, label: d.date }))} series={series} formatLabel={dayLabel} testId="chart-per-day" />
          </ChartFrame>
          <ChartFrame
            title={t('dialTitle')}
            tableLabel={t('showTable')}
            table={
              <table className="data">
                <caption className="visually-hidden">{t('dialTitle')}</caption>
                <thead>
                  <tr>
                    <th scope="col">{t('outcome')}</th>
                    <th scope="col">{t('attempts')}</th>
                  </tr>
                </thead>
                <tbody>
                  {f.dialOutcomes.map((d) => (
                    <tr key={d.outcome}>
                      <th scope="row">{t(`dial${d.outcome}` as Key)}</th>
                      <td>{d.count}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            }
          >
            <HorizontalBars title={t('dialTitle')} desc={t('dialDesc')} rows={f.dialOutcomes.map((d) => ({ key: d.outcome, label: t(`dial${d.outcome}` as Key), value: d.count, color: DIAL_COLORS[d.outcome] ?? '#64748b' }))} testId="chart-dial" />
          </ChartFrame>
          <details className="panel">
            <summary>{t('definitions')}</summary>
            <ul>
              <li>{t('defEnded')}</li>
              <li>{t('defHandle')}</li>
              <li>{t('defWait')}</li>
              <li>{t('defNoShow')}</li>
            </ul>
          </details>
        </>
      ) : null}
    </div>
  );
}

function Kpi({ label, value, hint }: { label: string; value: string; hint: string }) {
  return (
    <div className="panel kpi" role="group" aria-label={label}>
      <div className="label">{label}</div>
      <div className="value">{value}</div>
      <div className="hint">{hint}</div>
    </div>
  );
}
