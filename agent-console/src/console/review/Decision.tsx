// The auditor's decision on a sampled session (approve, recapture, reject, always with a note), or the
// decision already taken.
import { useState, type FormEvent } from 'react';
import { ApiError, call, client, type BodyOf } from '../../shared/api';
import { ErrorNote } from '../../shared/ErrorNote';
import { problemText } from '../../shared/problems';
import { formatDateTime, useLocale, useT } from '../../shared/i18n';
import { useAuth } from '../auth';
import { reviewMessages } from './messages';
import type { Key } from './review-format';
import { reviewBadgeClass } from './SessionSearch';
import type { ReviewFile } from './types';

/** The decision form, or the decision taken. */
export function Decision({ file, onDecided }: { file: ReviewFile; onDecided: () => void }) {
  const t = useT(reviewMessages);
  const { locale } = useLocale();
  const { user } = useAuth();
  // Nothing is chosen for the auditor: a decision is made, never accepted by default.
  const [decision, setDecision] = useState<BodyOf<'/api/reviews/{id}/decision'>['decision']>();
  const [note, setNote] = useState('');
  const [noteError, setNoteError] = useState<string>();
  const [choiceError, setChoiceError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const [done, setDone] = useState<string>();
  const review = file.review;

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!review) return;
    setChoiceError(decision ? undefined : t('choiceRequired'));
    setNoteError(note.trim() ? undefined : t('noteRequired'));
    if (!decision || !note.trim()) return;
    setBusy(true);
    setError(undefined);
    try {
      const decided = await call(client.POST('/api/reviews/{id}/decision', { params: { path: { id: review.id } }, body: { decision, note: note.trim() } }));
      setDone(t('submitted', { status: t(`review${decided.status}` as Key) }));
      onDecided();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  const refusal =
    error instanceof ApiError && error.status === 403 && /maker-checker/i.test(error.detail) ? (
      <div className="alert error" role="alert" data-testid="decision-refused">
        {t('makerChecker')}
      </div>
    ) : error instanceof ApiError ? (
      <div className="alert error" role="alert" data-testid="decision-refused" data-code={error.code}>
        {t('refused', { detail: problemText(error.code, locale) })}
      </div>
    ) : (
      <ErrorNote error={error} />
    );

  return (
    <section className="panel" aria-labelledby="decision-title">
      <h2 id="decision-title">{t('decision')}</h2>
      {done ? (
        <div className="alert ok" role="status">
          {done}
        </div>
      ) : null}
      {!review ? <p className="hint">{t('noReviewHere')}</p> : null}
      {review && review.status !== 'PENDING' ? (
        <p>
          <span className={`badge ${reviewBadgeClass(review.status)}`}>{t(`review${review.status}` as Key)}</span>{' '}
          {t('decided', { status: t(`review${review.status}` as Key), reviewer: review.reviewerName ?? '—', when: review.decidedAt ? formatDateTime(review.decidedAt, locale) : '—' })}
          {review.note ? <span className="review-note">“{review.note}”</span> : null}
        </p>
      ) : null}
      {review && review.status === 'PENDING' && !user?.roles.includes('AUDITOR') ? <p className="hint">{t('auditorsOnly')}</p> : null}
      {review && review.status === 'PENDING' && user?.roles.includes('AUDITOR') ? (
        <form onSubmit={(e) => void submit(e)} noValidate>
          {file.viewerRanSession ? <div className="alert warn">{t('makerChecker')}</div> : null}
          <fieldset className="review-choices" aria-describedby="choice-error">
            <legend>{t('decisionChoice')}</legend>
            {(['APPROVE', 'RECAPTURE', 'REJECT'] as const).map((d) => (
              <label key={d} className={`choice ${d.toLowerCase()}`}>
                <input type="radio" name="decision" value={d} checked={decision === d} onChange={() => setDecision(d)} /> {t(d)}
              </label>
            ))}
            <span id="choice-error" className="field-error">
              {choiceError}
            </span>
          </fieldset>
          <label className="field">
            {t('note')}
            <textarea value={note} onChange={(e) => setNote(e.target.value)} maxLength={2000} required aria-invalid={noteError ? true : undefined} aria-describedby="note-hint note-error" />
            <span id="note-hint" className="hint">
              {t('noteHint')}
            </span>
            <span id="note-error" className="field-error">
              {noteError}
            </span>
          </label>
          {refusal}
          <button type="submit" className={decision === 'APPROVE' ? 'ok' : decision === 'REJECT' ? 'danger' : 'primary'} disabled={busy}>
            {busy ? t('submitting') : t('submit')}
          </button>
        </form>
      ) : null}
    </section>
  );
}
