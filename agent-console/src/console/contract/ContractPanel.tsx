// The contract in the call, on the agent's desk: the document the borrower signs, a page to show them
// (contract:present), the page their screen shows now, and the signing the moment it is committed.
// Every change arrives as contract:changed and is read back from GET /api/sessions/:id/contract. The
// page carries the same key-term highlights the borrower sees.
import { useCallback, useEffect, useState } from 'react';
import type { AgentServerToClientEvents, AgentSocket, SocketAck } from '../../shared/socket';
import { ApiError, call, client, type Schemas } from '../../shared/api';
import { ErrorNote } from '../../shared/ErrorNote';
import { useLoad } from '../../shared/hooks';
import { formatDateTime, formatDuration, useLocale, useT } from '../../shared/i18n';
import { PdfPage, usePdf } from '../../shared/pdf-page';
import type { FoundTerm, TermsSnapshot, TermValues } from '../../shared/key-terms';
import { KeyTermsAside, useTermPatterns } from '../../shared/KeyTermsAside';
import { contractMessages } from './messages';
import './contract.css';

export type SessionContract = Schemas['SessionContract'];
export type Signing = NonNullable<SessionContract['signing']>;

/** `live`: the conversation is on (pages can be shown); `ended`: the call is over (no signing can come any more). */
export function ContractPanel({ sessionId, socket, live, ended, terms, values }: { sessionId: string; socket: AgentSocket | undefined; live: boolean; ended: boolean; terms?: TermsSnapshot | null | undefined; values?: TermValues | undefined }) {
  const t = useT(contractMessages);
  const patterns = useTermPatterns(terms, values);
  const [found, setFound] = useState<{ page: number; terms: FoundTerm[] }>();
  const onTerms = useCallback((n: number, list: FoundTerm[]) => setFound({ page: n, terms: list }), []);
  const { locale } = useLocale();
  const [tick, setTick] = useState(0);
  const view = useLoad((signal) => call(client.GET('/api/sessions/{id}/contract', { params: { path: { id: sessionId } }, signal })), [sessionId, tick]);
  const [page, setPage] = useState(1);
  const [presentError, setPresentError] = useState<unknown>();
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    if (!socket) return;
    const onChanged: AgentServerToClientEvents['contract:changed'] = (p) => p.sessionId === sessionId && setTick((n) => n + 1);
    socket.on('contract:changed', onChanged);
    return () => void socket.off('contract:changed', onChanged);
  }, [socket, sessionId]);

  const contract = view.data;
  const { pdf, error } = usePdf(contract?.documentStored ? `/api/sessions/${sessionId}/contract/content` : undefined);
  const total = pdf?.numPages ?? 0;
  const shown = total > 0 ? Math.min(Math.max(1, page), total) : page;

  const present = async () => {
    if (!socket) return;
    setBusy(true);
    setPresentError(undefined);
    const ack = await new Promise<SocketAck>((resolve) => socket.timeout(10_000).emit('contract:present', { sessionId, page: shown }, (err, reply) => resolve(err ? { ok: false, code: 'SERVICE_UNAVAILABLE', message: '' } : reply)));
    setBusy(false);
    if (!ack.ok) setPresentError(new ApiError(0, ack.code, ack.message));
    setTick((n) => n + 1);
  };

  return (
    <section className="panel stack" aria-labelledby="contract-heading" data-testid="contract-panel">
      <h2 id="contract-heading">{t('title')}</h2>
      <ErrorNote error={view.error} />
      {!contract ? null : contract.documentHash === null ? (
        <p className="alert warn" data-testid="no-contract">
          {t('none')}
        </p>
      ) : (
        <>
          <SigningNote signing={contract.signing} ended={ended} />
          {contract.documentStored ? (
            error ? (
              <p className="alert warn">{t('failed')}</p>
            ) : pdf ? (
              <>
                <div className="contract-status" role="status" aria-live="polite">
                  <span data-testid="contract-presented">{contract.presentedPage ? t('presented', { n: contract.presentedPage }) : t('notPresented')}</span>{' '}
                  <strong data-testid="party-page" data-page={contract.partyPage ?? ''}>
                    {contract.partyPage && contract.partyPageAt
                      ? t('partyOn', { n: contract.partyPage, time: formatDateTime(contract.partyPageAt, locale, { timeStyle: 'medium' }) })
                      : t('partyNotReading')}
                  </strong>
                </div>
                <div className="contract-thumb">
                  <PdfPage pdf={pdf} page={shown} label={t('pageLabel', { n: shown, total })} terms={patterns} onTerms={onTerms} />
                </div>
                {terms ? <KeyTermsAside terms={terms} values={values ?? {}} found={found} page={shown} /> : null}
                <div className="row">
                  <button type="button" onClick={() => setPage(shown - 1)} disabled={shown <= 1}>
                    {t('previous')}
                  </button>
                  <span data-testid="desk-contract-page">{t('pageOf', { n: shown, total })}</span>
                  <button type="button" onClick={() => setPage(shown + 1)} disabled={shown >= total}>
                    {t('next')}
                  </button>
                  <button type="button" className="primary" disabled={!live || busy || !socket} onClick={() => void present()} data-testid="present-page">
                    {t('present', { n: shown })}
                  </button>
                </div>
                {!live ? <p className="hint">{t('presentOnlyInCall')}</p> : null}
                <ErrorNote error={presentError} />
              </>
            ) : (
              <p role="status">{t('loading')}</p>
            )
          ) : (
            <p className="alert info">{t('hashOnly')}</p>
          )}
          <div className="fingerprint">
            <span className="hint">{t('fingerprint')}</span>
            <code className="mono hash">{contract.documentHash}</code>
          </div>
        </>
      )}
    </section>
  );
}

/** Signed (when, where in the recording, which document), or not yet / not at all. */
export function SigningNote({ signing, ended }: { signing: Signing | null; ended: boolean }) {
  const t = useT(contractMessages);
  const { locale } = useLocale();
  if (!signing) {
    return (
      <p className={`alert ${ended ? 'warn' : 'info'}`} data-testid="not-signed">
        {ended ? t('notSignedEnded') : t('notSigned')}
      </p>
    );
  }
  return (
    <div className="alert ok stack" role="status" data-testid="contract-signed">
      <strong>✓ {t('signed', { time: formatDateTime(signing.confirmedAt, locale, { dateStyle: 'medium', timeStyle: 'medium' }), offset: formatDuration(signing.recordingOffsetMs) })}</strong>
      <span>
        <span className="hint">{t('signedDocument')}: </span>
        <code className="mono hash" data-testid="signed-hash">
          {signing.documentHash}
        </code>
      </span>
    </div>
  );
}
