// The review queue (pending reviews, oldest first) and a session search, both from the review desk API.
import { useState, type FormEvent } from 'react';
import { call, client, type QueryOf } from '../../shared/api';
import { ErrorNote } from '../../shared/ErrorNote';
import { useLoad } from '../../shared/hooks';
import { formatDateTime, useLocale, useT } from '../../shared/i18n';
import { useLabels } from '../../shared/labels';
import { Link } from '../../shared/router';
import { reviewMessages } from './messages';
import type { SessionRow } from './types';

type Key = keyof (typeof reviewMessages)['en'];
export const SESSION_STATES = ['SCHEDULED', 'DISPATCHING', 'RINGING', 'WAITING', 'IN_PROGRESS', 'RETRY_PENDING', 'WRAP_UP', 'ESCALATED', 'COMPLETED', 'EXHAUSTED', 'CANCELLED', 'EXPIRED'] as const;
const OUTCOMES = ['PASSED', 'FAILED', 'ESCALATED'] as const;
const REVIEW_STATUSES = ['PENDING', 'APPROVED', 'RECAPTURE', 'REJECTED'] as const;

export function reviewBadgeClass(status: string | undefined): string {
  return status === 'APPROVED' ? 'ok' : status === 'REJECTED' ? 'bad' : status === 'PENDING' || status === 'RECAPTURE' ? 'warn' : '';
}

export function outcomeBadgeClass(outcome: string | null): string {
  return outcome === 'PASSED' ? 'ok' : outcome === 'FAILED' ? 'bad' : outcome === 'ESCALATED' ? 'warn' : '';
}

interface Filters {
  loanRef: string;
  state: string;
  outcome: string;
  reviewStatus: string;
  from: string;
  to: string;
}
type SearchQuery = QueryOf<'/api/review-desk/sessions'>;
const EMPTY: Filters = { loanRef: '', state: '', outcome: '', reviewStatus: '', from: '', to: '' };

/** Local calendar dates from the date inputs become instants in the browser's time zone. */
function searchQuery(f: Filters, cursor?: string): SearchQuery {
  const q: SearchQuery = { limit: 20 };
  if (f.loanRef.trim()) q.loanRef = f.loanRef.trim();
  // The selects offer only the values the API takes.
  if (f.state) q.state = f.state as SearchQuery['state'];
  if (f.outcome) q.outcome = f.outcome as SearchQuery['outcome'];
  if (f.reviewStatus) q.reviewStatus = f.reviewStatus as SearchQuery['reviewStatus'];
  if (f.from) q.from = new Date(`${f.from}T00:00:00`).toISOString();
  if (f.to) {
    const end = new Date(`${f.to}T00:00:00`);
    end.setDate(end.getDate() + 1);
    q.to = end.toISOString();
  }
  if (cursor) q.cursor = cursor;
  return q;
}

export function SessionSearch() {
  const t = useT(reviewMessages);
  const { locale } = useLocale();
  const queue = useLoad((signal) => call(client.GET('/api/review-desk/sessions', { params: { query: { reviewStatus: 'PENDING', order: 'oldest', limit: 50 } }, signal })), []);

  const [draft, setDraft] = useState<Filters>(EMPTY);
  const [applied, setApplied] = useState<Filters>(EMPTY);
  const [extra, setExtra] = useState<{ rows: SessionRow[]; cursor: string | null; error: unknown }>({ rows: [], cursor: null, error: undefined });
  const results = useLoad(
    async (signal) => {
      const page = await call(client.GET('/api/review-desk/sessions', { params: { query: searchQuery(applied) }, signal }));
      setExtra({ rows: [], cursor: page.nextCursor, error: undefined });
      return page;
    },
    [applied],
  );
  const rows = [...(results.data?.items ?? []), ...extra.rows];

  const submit = (event: FormEvent) => {
    event.preventDefault();
    setApplied({ ...draft });
  };
  const loadMore = async () => {
    if (!extra.cursor) return;
    try {
      const page = await call(client.GET('/api/review-desk/sessions', { params: { query: searchQuery(applied, extra.cursor) } }));
      setExtra((e) => ({ rows: [...e.rows, ...page.items], cursor: page.nextCursor, error: undefined }));
    } catch (error) {
      setExtra((e) => ({ ...e, error }));
    }
  };
  const field = (name: keyof Filters) => ({ value: draft[name], onChange: (e: { target: { value: string } }) => setDraft((d) => ({ ...d, [name]: e.target.value })) });
  const when = (iso: string) => formatDateTime(iso, locale);

  return (
    <div className="stack">
      <h1>{t('title')}</h1>
      <section className="panel" aria-labelledby="queue-title">
        <div className="spread">
          <h2 id="queue-title">{t('queueTitle')}</h2>
          {queue.data ? <span className="badge warn">{queue.data.items.length}</span> : null}
        </div>
        <p className="hint">{t('queueHint')}</p>
        <ErrorNote error={queue.error} />
        {queue.data && queue.data.items.length === 0 ? <p>{t('queueEmpty')}</p> : null}
        {queue.data && queue.data.items.length > 0 ? (
          <table className="data" aria-labelledby="queue-title">
            <thead>
              <tr>
                <th scope="col">{t('colLoan')}</th>
                <th scope="col">{t('colKind')}</th>
                <th scope="col">{t('colOutcome')}</th>
                <th scope="col">{t('colReason')}</th>
                <th scope="col">{t('colAgent')}</th>
                <th scope="col">{t('colWaiting')}</th>
              </tr>
            </thead>
            <tbody>
              {queue.data.items.map((s) => (
                <tr key={s.id}>
                  <td>
                    <Link to={`/review/${s.id}`} aria-label={t('openSession', { ref: s.loanRef })}>
                      {s.loanRef}
                    </Link>
                  </td>
                  <td>
                    {t(`kind${s.kind}` as Key)}
                    <ModeNote session={s} />
                  </td>
                  <td>{s.outcome ? <span className={`badge ${outcomeBadgeClass(s.outcome)}`}>{t(`outcome${s.outcome}` as Key)}</span> : '—'}</td>
                  <td>{s.review ? t(`reason${s.review.reason}` as Key) : '—'}</td>
                  <td>{s.agentName ?? t('noAgent')}</td>
                  <td>{s.review ? when(s.review.createdAt) : '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : null}
      </section>

      <section className="panel" aria-labelledby="search-title">
        <h2 id="search-title">{t('searchTitle')}</h2>
        <form className="review-filters" onSubmit={submit} role="search" aria-labelledby="search-title">
          <label className="field">
            {t('loanRef')}
            <input type="search" {...field('loanRef')} />
          </label>
          <label className="field">
            {t('state')}
            <select {...field('state')}>
              <option value="">{t('any')}</option>
              {SESSION_STATES.map((s) => (
                <option key={s} value={s}>
                  {t(`sessionState${s}` as Key)}
                </option>
              ))}
            </select>
          </label>
          <label className="field">
            {t('outcome')}
            <select {...field('outcome')}>
              <option value="">{t('any')}</option>
              {OUTCOMES.map((o) => (
                <option key={o} value={o}>
                  {t(`outcome${o}` as Key)}
                </option>
              ))}
            </select>
          </label>
          <label className="field">
            {t('reviewStatus')}
            <select {...field('reviewStatus')}>
              <option value="">{t('any')}</option>
              {REVIEW_STATUSES.map((r) => (
                <option key={r} value={r}>
                  {t(`review${r}` as Key)}
                </option>
              ))}
            </select>
          </label>
          <label className="field">
            {t('createdFrom')}
            <input type="date" {...field('from')} />
          </label>
          <label className="field">
            {t('createdTo')}
            <input type="date" {...field('to')} />
          </label>
          <div className="row review-filter-actions">
            <button type="submit" className="primary">
              {t('search')}
            </button>
            <button
              type="button"
              onClick={() => {
                setDraft(EMPTY);
                setApplied(EMPTY);
              }}
            >
              {t('reset')}
            </button>
          </div>
        </form>
        <ErrorNote error={results.error ?? extra.error} />
        {results.data && rows.length === 0 ? <p>{t('noResults')}</p> : null}
        {rows.length > 0 ? (
          <table className="data" aria-labelledby="search-title" data-testid="search-results">
            <thead>
              <tr>
                <th scope="col">{t('colLoan')}</th>
                <th scope="col">{t('colKind')}</th>
                <th scope="col">{t('colState')}</th>
                <th scope="col">{t('colOutcome')}</th>
                <th scope="col">{t('colReview')}</th>
                <th scope="col">{t('colAgent')}</th>
                <th scope="col">{t('colWhen')}</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((s) => (
                <tr key={s.id}>
                  <td>
                    <Link to={`/review/${s.id}`} aria-label={t('openSession', { ref: s.loanRef })}>
                      {s.loanRef}
                    </Link>
                  </td>
                  <td>
                    {t(`kind${s.kind}` as Key)}
                    <ModeNote session={s} />
                  </td>
                  <td>{t(`sessionState${s.state}` as Key)}</td>
                  <td>{s.outcome ? <span className={`badge ${outcomeBadgeClass(s.outcome)}`}>{t(`outcome${s.outcome}` as Key)}</span> : '—'}</td>
                  <td>{s.review ? <span className={`badge ${reviewBadgeClass(s.review.status)}`}>{t(`review${s.review.status}` as Key)}</span> : <span className="hint">{t('noReview')}</span>}</td>
                  <td>{s.agentName ?? t('noAgent')}</td>
                  <td>{when(s.createdAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : null}
        {extra.cursor ? (
          <button type="button" onClick={() => void loadMore()}>
            {t('loadMore')}
          </button>
        ) : null}
      </section>
    </div>
  );
}

/** An automated call, and why it was handed to a person when it was. */
function ModeNote({ session }: { session: SessionRow }) {
  const t = useT(reviewMessages);
  const labels = useLabels();
  if (session.mode !== 'AUTOMATED_CALL') return null;
  return (
    <div className="hint" data-testid="session-mode">
      {session.handOffReason ? t('handedOff', { reason: labels.handOffReason(session.handOffReason) }) : labels.mode(session.mode)}
    </div>
  );
}
