// Pick another slot: at least 15 minutes ahead and before the verification's deadline (the server
// checks both and names the field when it refuses).
import { useId, useState, type FormEvent } from 'react';
import { fieldError } from '../shared/api';
import { formatDateTime, useLocale, useT } from '../shared/i18n';
import type { JoinApi, Overview } from './join-api';
import { JoinError } from './JoinError';
import { joinMessages } from './messages';

const MIN_AHEAD_MS = 15 * 60_000;

/** `YYYY-MM-DDTHH:mm` in this device's time zone, as <input type="datetime-local"> wants it. */
function localInputValue(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

export function Reschedule({ api, overview, done, open = false }: { api: JoinApi; overview: Overview; done(): Promise<void>; open?: boolean }) {
  const t = useT(joinMessages);
  const { locale } = useLocale();
  const id = useId();
  const [value, setValue] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const [empty, setEmpty] = useState(false);
  const [moved, setMoved] = useState<string>();

  const min = localInputValue(new Date(Date.now() + MIN_AHEAD_MS + 60_000));
  const max = localInputValue(new Date(Date.parse(overview.deadline) - 60_000));
  const deadline = formatDateTime(overview.deadline, locale);

  const onSubmit = async (event: FormEvent) => {
    event.preventDefault();
    const chosen = value ? new Date(value) : undefined;
    if (!chosen || Number.isNaN(chosen.getTime())) {
      setEmpty(true);
      return;
    }
    setBusy(true);
    setError(undefined);
    setEmpty(false);
    try {
      const result = await api.reschedule(chosen);
      setMoved(result.appointmentAt);
      await done();
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  };

  if (moved) {
    return (
      <div className="alert ok" role="status">
        {t('rescheduleDone', { time: formatDateTime(moved, locale, { dateStyle: 'full', timeStyle: 'short' }) })}
      </div>
    );
  }
  if (!overview.canReschedule) return null;
  const invalid = empty ? t('rescheduleEmpty') : fieldError(error, 'notBefore');
  return (
    <details className="reschedule" open={open}>
      <summary>{t('rescheduleSummary')}</summary>
      <form className="stack" onSubmit={onSubmit} noValidate>
        <label className="field" htmlFor={`${id}-when`}>
          {t('rescheduleLabel')}
          <input
            id={`${id}-when`}
            type="datetime-local"
            min={min}
            max={max}
            value={value}
            onChange={(e) => setValue(e.target.value)}
            aria-invalid={invalid ? true : undefined}
            aria-describedby={`${id}-hint${invalid ? ` ${id}-error` : ''}`}
          />
          <span className="hint" id={`${id}-hint`}>
            {t('rescheduleHint', { deadline })}
          </span>
          {invalid ? (
            <span className="field-error" id={`${id}-error`} role="alert">
              {empty ? invalid : `${t('rescheduleHint', { deadline })}`}
            </span>
          ) : null}
        </label>
        {invalid ? null : <JoinError error={error} />}
        <button type="submit" disabled={busy}>
          {t('rescheduleSubmit')}
        </button>
      </form>
    </details>
  );
}
