// The recording's hash and verification state, with an integrity re-check on demand.
import { useState } from 'react';
import { call, client } from '../../shared/api';
import { ErrorNote } from '../../shared/ErrorNote';
import { formatDateTime, useLocale, useT } from '../../shared/i18n';
import { reviewMessages } from './messages';
import { PLAYABLE, type Key } from './review-format';
import type { IntegrityResult, RecordingInfo } from './types';

export function Verification({ recording, onChecked }: { recording: RecordingInfo; onChecked: () => void }) {
  const t = useT(reviewMessages);
  const { locale } = useLocale();
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<IntegrityResult>();
  const [error, setError] = useState<unknown>();
  const verified = PLAYABLE.has(recording.state);
  const recheck = async () => {
    setBusy(true);
    setError(undefined);
    try {
      setResult(await call(client.POST('/api/recordings/{id}/integrity-check', { params: { path: { id: recording.id } } })));
      onChecked();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  const stateText = recording.state === 'VERIFIED' || recording.state === 'RETAINED' || recording.state === 'FAILED' ? t(`state${recording.state}` as Key) : t('statePending', { state: t(`recording${recording.state}` as Key) });
  return (
    <section className="panel" aria-labelledby="verification-title">
      <h2 id="verification-title">{t('verification')}</h2>
      <dl className="review-facts">
        <dt>{t('hashState')}</dt>
        <dd>
          <span className={`badge ${verified ? 'ok' : recording.state === 'FAILED' ? 'bad' : 'warn'}`} data-testid="hash-badge">
            {verified ? '✓ ' : '✗ '}
            {stateText}
          </span>
          {recording.failureReason ? <div className="hint">{recording.failureReason}</div> : null}
        </dd>
        <dt>{t('sha256')}</dt>
        <dd>
          <code className="review-hash" data-testid="recording-sha256">
            {recording.sha256 ?? '—'}
          </code>
        </dd>
        <dt>{t('size')}</dt>
        <dd>{recording.sizeBytes ? `${Number(recording.sizeBytes).toLocaleString(locale)} B` : '—'}</dd>
        <dt>{t('verifiedAt')}</dt>
        <dd>{recording.verifiedAt ? formatDateTime(recording.verifiedAt, locale) : '—'}</dd>
        <dt>{t('lastCheck')}</dt>
        <dd>{recording.lastIntegrityCheckAt ? formatDateTime(recording.lastIntegrityCheckAt, locale, { dateStyle: 'medium', timeStyle: 'medium' }) : t('never')}</dd>
        <dt>{t('retainUntil')}</dt>
        <dd>
          {recording.retainUntil ? formatDateTime(recording.retainUntil, locale, { dateStyle: 'medium' }) : '—'}
          {recording.legalHold ? <span className="badge warn"> {t('legalHold')}</span> : null}
        </dd>
      </dl>
      {verified ? (
        <button type="button" onClick={() => void recheck()} disabled={busy}>
          {busy ? t('rechecking') : t('recheck')}
        </button>
      ) : null}
      <div aria-live="polite">
        {result ? (
          <div className={`alert ${result.result === 'ok' ? 'ok' : 'error'}`} role={result.result === 'ok' ? 'status' : 'alert'} data-testid="integrity-result">
            {result.result === 'ok' ? `✓ ${t('checkOk')}` : result.result === 'mismatch' ? t('checkMismatch') : t('checkMissing')}
          </div>
        ) : null}
      </div>
      <ErrorNote error={error} />
    </section>
  );
}
