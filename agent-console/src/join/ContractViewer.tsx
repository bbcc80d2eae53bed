// The contract in the call, on the borrower's screen: the PDF the lender supplied, page by page. The
// agent turns it to a page (contract:present); the borrower may page through it too, and the page
// shown is reported back (contract:viewing) so the agent sees where the borrower is reading.
import { useCallback, useEffect, useRef, useState } from 'react';
import type { Socket } from 'socket.io-client';
import { useT } from '../shared/i18n';
import { PdfPage, usePdf } from '../shared/pdf-page';
import type { JoinApi, PartyContract } from './join-api';
import { joinMessages } from './messages';

export function ContractViewer({ api, socket }: { api: JoinApi; socket: Socket | undefined }) {
  const t = useT(joinMessages);
  const [contract, setContract] = useState<PartyContract>();
  const [failed, setFailed] = useState(false);
  const [page, setPage] = useState(1);
  const [presented, setPresented] = useState<number>();

  useEffect(() => {
    let cancelled = false;
    api.contract().then(
      (c) => {
        if (cancelled) return;
        setContract(c);
        if (c.presentedPage) {
          setPresented(c.presentedPage);
          setPage(c.presentedPage);
        }
      },
      () => !cancelled && setFailed(true),
    );
    return () => {
      cancelled = true;
    };
  }, [api]);

  useEffect(() => {
    if (!socket) return;
    const onPresent = (p: { page: number }) => {
      setPresented(p.page);
      setPage(p.page);
    };
    socket.on('contract:present', onPresent);
    return () => void socket.off('contract:present', onPresent);
  }, [socket]);

  const { pdf, error } = usePdf(contract?.documentStored ? api.contractUrl() : undefined, api.authHeaders());
  const total = pdf?.numPages ?? 0;
  const shown = total > 0 ? Math.min(Math.max(1, page), total) : page;
  // The page shown is reported once it has settled (the server takes at most a few reports a second).
  const pending = useRef<ReturnType<typeof setTimeout>>(undefined);
  const report = useCallback(
    (n: number) => {
      clearTimeout(pending.current);
      pending.current = setTimeout(() => socket?.emit('contract:viewing', { page: n }), 300);
    },
    [socket],
  );
  useEffect(() => () => clearTimeout(pending.current), []);

  if (!contract && !failed) return <p role="status">{t('contractLoading')}</p>;
  return (
    <section className="contract stack" aria-labelledby="contract-heading" data-testid="contract">
      <h2 id="contract-heading">{t('contractTitle')}</h2>
      {failed || error ? (
        <div className="alert warn" role="alert">
          {t('contractFailed')}
        </div>
      ) : null}
      {contract && !contract.documentStored ? <p className="alert info">{t('contractHashOnly')}</p> : null}
      {contract?.documentStored && !error ? (
        <>
          <p>{t('contractIntro')}</p>
          {presented ? (
            <div className="alert info" role="status" aria-live="polite" data-testid="contract-presented">
              {t('contractPresented', { n: presented })}
            </div>
          ) : null}
          {pdf ? (
            <>
              <PdfPage pdf={pdf} page={shown} label={t('contractPageLabel', { n: shown, total })} onRendered={report} />
              <div className="spread contract-nav">
                <button type="button" onClick={() => setPage(shown - 1)} disabled={shown <= 1}>
                  {t('contractPrevious')}
                </button>
                <span aria-live="polite" data-testid="contract-page">
                  {t('contractPageOf', { n: shown, total })}
                </span>
                <button type="button" onClick={() => setPage(shown + 1)} disabled={shown >= total}>
                  {t('contractNext')}
                </button>
              </div>
              {presented && presented !== shown ? (
                <button type="button" onClick={() => setPage(presented)}>
                  {t('contractBackToPresented')}
                </button>
              ) : null}
            </>
          ) : (
            <p role="status">{t('contractLoading')}</p>
          )}
        </>
      ) : null}
      {contract?.documentHash ? (
        <div className="fingerprint">
          <span className="hint">{t('contractFingerprint')}</span>
          <code className="mono hash" data-testid="contract-hash">
            {contract.documentHash}
          </code>
          <span className="hint">{t('contractFingerprintHelp')}</span>
        </div>
      ) : null}
    </section>
  );
}
