// The loan file's contract PDF (PUT /api/loan-files/:id/contract): the document a video session
// scheduled afterwards binds and the borrower signs in the call. The server decides by the bytes
// whether it is a PDF and computes the SHA-256; the page shows what the server stored, and a refusal
// (not a PDF, too large) in the page's language.
import { useEffect, useId, useState } from 'react';
import { ApiError, call, client, rawBody, type Schemas } from '../../shared/api';
import { ErrorNote } from '../../shared/ErrorNote';
import { formatDateTime, useLocale, useT } from '../../shared/i18n';
import { loanFileMessages } from './messages';

export type ContractDocument = Schemas['ContractDocument'];

/** Sends the file's bytes as a PDF: the server checks the content, whatever the file's name or type says. */
export function uploadContract(loanFileId: string, file: File): Promise<ContractDocument> {
  return call(client.PUT('/api/loan-files/{id}/contract', { params: { path: { id: loanFileId } }, ...rawBody(new Blob([file], { type: 'application/pdf' })) }));
}

/** The file input of the new-loan-file form: the chosen PDF is uploaded once the loan file exists. */
export function ContractInput({ file, onChange, id }: { file: File | undefined; onChange(file: File | undefined): void; id?: string }) {
  const t = useT(loanFileMessages);
  const generated = useId();
  const inputId = id ?? `lf-contract-${generated}`;
  return (
    <div className="field lf-field">
      <label htmlFor={inputId}>{t('contractFile')}</label>
      <input id={inputId} type="file" accept="application/pdf,.pdf" aria-describedby={`${inputId}-hint`} data-testid="contract-file" onChange={(e) => onChange(e.target.files?.[0])} />
      <span className="hint" id={`${inputId}-hint`}>
        {file ? t('contractChosen', { name: file.name, size: readableSize(file.size) }) : t('contractHint')}
      </span>
    </div>
  );
}

/** Sizes as people read them (KB/MB, decimal); the exact byte count stays in the title. */
function readableSize(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  if (bytes < 1_000_000) return `${(bytes / 1000).toFixed(1)} KB`;
  return `${(bytes / 1_000_000).toFixed(1)} MB`;
}

/**
 * The contract of a created loan file: what is stored (fingerprint, size, time) and a way to upload
 * or replace it. `initial` is the outcome of the upload the form made right after creating the file.
 */
export function ContractSection({ loanFileId, initial, initialError }: { loanFileId: string; initial?: ContractDocument; initialError?: unknown }) {
  const t = useT(loanFileMessages);
  const { locale } = useLocale();
  const [stored, setStored] = useState<ContractDocument | undefined>(initial);
  const [file, setFile] = useState<File>();
  const [error, setError] = useState<unknown>(initialError);
  const [busy, setBusy] = useState(false);
  const [copied, setCopied] = useState(false);
  // A new input after each stored upload: a file input cannot be emptied by state.
  const [inputKey, setInputKey] = useState(0);
  const headingId = useId();

  // A loan file that already existed (the same reference and terms) may already have its contract.
  useEffect(() => {
    if (initial) return;
    const controller = new AbortController();
    call(client.GET('/api/loan-files/{id}/contract', { params: { path: { id: loanFileId } }, signal: controller.signal }))
      .then(setStored)
      .catch((e: unknown) => {
        if ((e as Error).name === 'AbortError' || (e instanceof ApiError && e.status === 404)) return;
        setError(e);
      });
    return () => controller.abort();
  }, [loanFileId, initial]);

  const upload = async () => {
    if (!file) return;
    setBusy(true);
    setError(undefined);
    setCopied(false);
    try {
      setStored(await uploadContract(loanFileId, file));
      setFile(undefined);
      setInputKey((k) => k + 1);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  const copy = async () => {
    if (!stored) return;
    try {
      await navigator.clipboard.writeText(stored.sha256);
      setCopied(true);
    } catch {
      // Without clipboard access the full value is still selectable in the title and the text.
      setCopied(false);
    }
  };

  return (
    <section className="panel lf-contract" aria-labelledby={headingId} data-testid="contract-section">
      <h2 id={headingId}>{t('contractHeading')}</h2>
      {stored ? (
        <dl className="lf-contract-facts" data-testid="contract-stored">
          <dt>{t('contractFingerprint')}</dt>
          <dd>
            <code className="mono" title={stored.sha256} data-testid="contract-sha256" data-sha256={stored.sha256} aria-label={t('contractFingerprintFull', { hash: stored.sha256 })}>
              {`${stored.sha256.slice(0, 12)}…${stored.sha256.slice(-6)}`}
            </code>{' '}
            <button type="button" className="small" onClick={() => void copy()}>
              {t('contractCopy')}
            </button>
            <span role="status" className="hint">
              {copied ? ` ${t('contractCopied')}` : ''}
            </span>
          </dd>
          <dt>{t('contractSize')}</dt>
          <dd data-testid="contract-size" title={t('contractBytes', { n: stored.sizeBytes.toLocaleString(locale) })}>
            {readableSize(stored.sizeBytes)}
          </dd>
          <dt>{t('contractUploadedAt')}</dt>
          <dd data-testid="contract-uploaded-at">{formatDateTime(stored.uploadedAt, locale)}</dd>
        </dl>
      ) : null}
      {stored ? (
        <p>
          <a href={stored.contentUrl} target="_blank" rel="noreferrer">
            {t('contractOpen')}
          </a>
        </p>
      ) : (
        <p className="hint" data-testid="contract-none">
          {t('contractNone')}
        </p>
      )}
      <ErrorNote error={error} prefix={t('contractRefused')} />
      <div className="lf-contract-upload">
        <ContractInput key={inputKey} file={file} onChange={(f) => (setFile(f), setError(undefined))} />
        <div>
          <button type="button" onClick={() => void upload()} disabled={!file || busy}>
            {busy ? t('contractUploading') : stored ? t('contractReplace') : t('contractUpload')}
          </button>
        </div>
      </div>
    </section>
  );
}
