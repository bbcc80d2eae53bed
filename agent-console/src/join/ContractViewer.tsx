// The contract in the call, on the borrower's screen: the PDF the lender supplied, page by page. The
// agent turns it to a page (contract:present); the borrower may page through it too, and the page
// shown is reported back (contract:viewing) so the agent sees where the borrower is reading. The loan's
// key terms are highlighted where a page states them, and listed beside it. On a phone the page at the
// screen's width is too small to read, so the borrower zooms it (the zoom stays as they set it when
// the agent turns the page); in large-text mode it opens at a size whose body text is readable.
import { useCallback, useEffect, useRef, useState } from 'react';
import type { PartyServerToClientEvents, PartySocket } from '../shared/socket';
import { useT } from '../shared/i18n';
import { documentBodySize, PdfPage, usePdf } from '../shared/pdf-page';
import { MAX_ZOOM, readableZoom, zoomIn, zoomOut } from '../shared/pdf-zoom';
import { KeyTermsAside, useTermPatterns } from '../shared/KeyTermsAside';
import type { FoundTerm } from '../shared/key-terms';
import type { JoinApi, KeyTerms, PartyContract } from './join-api';
import { useLargeTextOn } from './large-text';
import { joinMessages } from './messages';

export function ContractViewer({ api, socket, terms }: { api: JoinApi; socket: PartySocket | undefined; terms: KeyTerms | null }) {
  const t = useT(joinMessages);
  const patterns = useTermPatterns(terms?.loanTerms, terms?.values);
  const [found, setFound] = useState<{ page: number; terms: FoundTerm[] }>();
  const onTerms = useCallback((page: number, list: FoundTerm[]) => setFound({ page, terms: list }), []);
  const [contract, setContract] = useState<PartyContract>();
  const [failed, setFailed] = useState(false);
  const [page, setPage] = useState(1);
  const [presented, setPresented] = useState<number>();
  const large = useLargeTextOn();
  const [chosenZoom, setChosenZoom] = useState<number>();
  const [fit, setFit] = useState<number>();
  const [bodySize, setBodySize] = useState<number | null>();
  // Turning large text on or off asks for the size that goes with it.
  useEffect(() => setChosenZoom(undefined), [large]);

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
    const onPresent: PartyServerToClientEvents['contract:present'] = (p) => {
      setPresented(p.page);
      setPage(p.page);
    };
    socket.on('contract:present', onPresent);
    return () => void socket.off('contract:present', onPresent);
  }, [socket]);

  const { pdf, error } = usePdf(contract?.documentStored ? api.contractUrl() : undefined, api.authHeaders());
  const total = pdf?.numPages ?? 0;
  useEffect(() => {
    if (!pdf) return;
    let cancelled = false;
    documentBodySize(pdf).then(
      (size) => !cancelled && setBodySize(size ?? null),
      () => !cancelled && setBodySize(null),
    );
    return () => {
      cancelled = true;
    };
  }, [pdf]);
  const autoZoom = large && fit !== undefined && bodySize !== undefined ? readableZoom(bodySize, fit) : 1;
  const zoom = chosenZoom ?? autoZoom;
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
              <div className="contract-zoom" role="group" aria-label={t('contractZoomGroup')}>
                {/* aria-disabled, not disabled: the focus stays on a button pressed to its end. */}
                <button type="button" onClick={() => zoom > 1 && setChosenZoom(zoomOut(zoom))} aria-disabled={zoom <= 1}>
                  <span className="zoom-icon" aria-hidden="true">
                    −
                  </span>{' '}
                  {t('contractZoomOut')}
                </button>
                <button type="button" onClick={() => zoom < MAX_ZOOM && setChosenZoom(zoomIn(zoom))} aria-disabled={zoom >= MAX_ZOOM}>
                  <span className="zoom-icon" aria-hidden="true">
                    +
                  </span>{' '}
                  {t('contractZoomIn')}
                </button>
                <button type="button" onClick={() => setChosenZoom(1)} aria-disabled={zoom === 1}>
                  {t('contractZoomFit')}
                </button>
                <span className="zoom-level" role="status" aria-live="polite" data-testid="contract-zoom">
                  {t('contractZoomLevel', { percent: Math.round(zoom * 100) })}
                </span>
              </div>
              <PdfPage
                pdf={pdf}
                page={shown}
                label={t('contractPageLabel', { n: shown, total })}
                onRendered={report}
                terms={patterns}
                onTerms={onTerms}
                zoom={zoom}
                scroll={{ label: t('contractScroller', { n: shown }) }}
                onFit={setFit}
              />
              {terms ? <KeyTermsAside terms={terms.loanTerms} values={terms.values} found={found} page={shown} /> : null}
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
