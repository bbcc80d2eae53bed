// The signing on the review page: what was to be signed (or that nothing was), whether and when the
// borrower signed, with the document hash, and a jump to that moment in the recording.
import { call, client } from '../../shared/api';
import { ErrorNote } from '../../shared/ErrorNote';
import { useLoad } from '../../shared/hooks';
import { formatDuration, useT } from '../../shared/i18n';
import { SigningNote } from './ContractPanel';
import { contractMessages } from './messages';
import './contract.css';

export function ContractReview({ sessionId, onSeek }: { sessionId: string; onSeek(attemptId: string, offsetMs: number): void }) {
  const t = useT(contractMessages);
  const view = useLoad((signal) => call(client.GET('/api/sessions/{id}/contract', { params: { path: { id: sessionId } }, signal })), [sessionId]);
  const contract = view.data;
  return (
    <section className="panel stack" aria-labelledby="contract-review-title" data-testid="review-contract">
      <h2 id="contract-review-title">{t('reviewTitle')}</h2>
      <ErrorNote error={view.error} />
      {!contract ? null : contract.documentHash === null ? (
        <p className="alert warn" data-testid="no-contract">
          {t('none')}
        </p>
      ) : (
        <>
          <SigningNote signing={contract.signing} ended />
          {contract.signing ? (
            <button type="button" className="small" onClick={() => onSeek(contract.signing!.attemptId, contract.signing!.recordingOffsetMs)}>
              ▶ {t('seekSigning', { time: formatDuration(contract.signing.recordingOffsetMs) })}
            </button>
          ) : null}
          {/* Signed: the signing names the document; the bound hash is shown again only if it differs. */}
          {contract.signing?.documentHash === contract.documentHash ? null : (
            <div className="fingerprint">
              <span className="hint">{t('fingerprint')}</span>
              <code className="mono hash">{contract.documentHash}</code>
            </div>
          )}
          {contract.documentStored ? (
            <a className="button" href={`/api/sessions/${sessionId}/contract/content`} download={`contract-${contract.documentHash.slice(0, 12)}.pdf`}>
              {t('openDocument')}
            </a>
          ) : (
            <p className="hint">{t('hashOnly')}</p>
          )}
        </>
      )}
    </section>
  );
}
