import { useState, type FormEvent } from 'react';
import { call, client } from '../../shared/api';
import { ErrorNote } from '../../shared/ErrorNote';
import { useT } from '../../shared/i18n';
import { useLabels } from '../../shared/labels';
import { deskMessages } from './messages';
import { FLAG_CODES, SEVERITIES, type RiskFlag } from './types';

export function FlagsPanel({ sessionId, flags, disabled, onRaised }: { sessionId: string; flags: RiskFlag[]; disabled: boolean; onRaised(): void }) {
  const t = useT(deskMessages);
  const labels = useLabels();
  const [code, setCode] = useState<(typeof FLAG_CODES)[number]>('EVASIVE');
  const [severity, setSeverity] = useState<(typeof SEVERITIES)[number]>('MEDIUM');
  const [note, setNote] = useState('');
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await call(client.POST('/api/sessions/{id}/risk-flags', { params: { path: { id: sessionId } }, body: { code, severity, ...(note.trim() ? { note: note.trim() } : {}) } }));
      setNote('');
      onRaised();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form className="panel" onSubmit={(e) => void submit(e)}>
      <h2>{t('flags')}</h2>
      {flags.length === 0 ? <p className="hint">{t('noFlags')}</p> : null}
      <ul className="flag-list">
        {flags.map((f) => (
          <li key={f.id}>
            <span className={`badge ${f.severity === 'HIGH' ? 'bad' : f.severity === 'MEDIUM' ? 'warn' : ''}`}>{labels.severity(f.severity)}</span> {labels.flag(f.code)}
            {f.note ? <span className="hint"> — {f.note}</span> : null}
          </li>
        ))}
      </ul>
      <div className="row">
        <label className="field" style={{ flex: 2 }}>
          {t('flagCode')}
          <select value={code} onChange={(e) => setCode(e.target.value as (typeof FLAG_CODES)[number])} disabled={disabled}>
            {FLAG_CODES.map((c) => (
              <option key={c} value={c}>
                {labels.flag(c)}
              </option>
            ))}
          </select>
        </label>
        <label className="field" style={{ flex: 1 }}>
          {t('severity')}
          <select value={severity} onChange={(e) => setSeverity(e.target.value as (typeof SEVERITIES)[number])} disabled={disabled}>
            {SEVERITIES.map((s) => (
              <option key={s} value={s}>
                {labels.severity(s)}
              </option>
            ))}
          </select>
        </label>
      </div>
      <label className="field">
        {t('note')}
        <input value={note} onChange={(e) => setNote(e.target.value)} maxLength={2000} disabled={disabled} />
      </label>
      <ErrorNote error={error} />
      <button type="submit" disabled={disabled || busy}>
        {t('raiseFlag')}
      </button>
    </form>
  );
}
