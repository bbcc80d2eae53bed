// Consent to recording and to personal-data processing: the exact versioned texts the server hashes,
// in the language shown, each with its own box; both are required.
import { useState, type FormEvent } from 'react';
import { JoinError } from './JoinError';
import { useLocale, useT } from '../shared/i18n';
import type { JoinApi, Overview } from './join-api';
import { joinMessages } from './messages';

export function ConsentStep({ api, overview, done }: { api: JoinApi; overview: Overview; done(): Promise<void> }) {
  const t = useT(joinMessages);
  const { locale } = useLocale();
  const [recording, setRecording] = useState(false);
  const [data, setData] = useState(false);
  const [missing, setMissing] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();

  const onSubmit = async (event: FormEvent) => {
    event.preventDefault();
    if (!recording || !data) {
      setMissing(true);
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      // The locale sent is the one whose text is on screen: the server stores that text's hash.
      await api.consent(locale);
      await done();
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  };

  const texts = overview.consentTexts;
  return (
    <form className="stack" onSubmit={onSubmit} noValidate>
      <p>{t('consentIntro')}</p>
      <section className="consent-block" aria-labelledby="consent-recording-heading">
        <h2 id="consent-recording-heading">{t('consentRecordingHeading')}</h2>
        <p id="consent-recording-text">{texts.RECORDING[locale]}</p>
        <label className="check">
          <input type="checkbox" checked={recording} onChange={(e) => setRecording(e.target.checked)} aria-describedby="consent-recording-text" />
          <span>{t('consentRecordingBox')}</span>
        </label>
        <p className="hint">{t('consentVersion', { v: texts.RECORDING.version })}</p>
      </section>
      <section className="consent-block" aria-labelledby="consent-data-heading">
        <h2 id="consent-data-heading">{t('consentDataHeading')}</h2>
        <p id="consent-data-text">{texts.DATA_PROCESSING[locale]}</p>
        <label className="check">
          <input type="checkbox" checked={data} onChange={(e) => setData(e.target.checked)} aria-describedby="consent-data-text" />
          <span>{t('consentDataBox')}</span>
        </label>
        <p className="hint">{t('consentVersion', { v: texts.DATA_PROCESSING.version })}</p>
      </section>
      {missing && !(recording && data) ? (
        <div className="alert error" role="alert">
          {t('consentBoth')}
        </div>
      ) : null}
      <JoinError error={error} />
      <button type="submit" className="primary" disabled={busy}>
        {t('consentSubmit')}
      </button>
      <p className="hint">{t('consentDecline')}</p>
    </form>
  );
}
