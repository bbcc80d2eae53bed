// Pick another slot: at least 15 minutes ahead, before the verification's deadline and inside the hours the
// party may be called (the server checks all three and names the field when it refuses; a time outside the
// calling hours comes back with the window, which is said in the party's language).
import { useId, useState, type FormEvent } from 'react';
import { ApiError, fieldError, type Schemas } from '../shared/api';
import { formatDateTime, useLocale, useT, type Translate } from '../shared/i18n';
import { formatZonedReading, weekdayNames, zoneName } from '../shared/zoned-time';
import type { JoinApi, Overview } from './join-api';
import { JoinError } from './JoinError';
import { joinMessages, type JoinMessageKey } from './messages';

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
  const outside = outsideHours(error, t, locale);
  const invalid = empty ? t('rescheduleEmpty') : (outside ?? (fieldError(error, 'notBefore') ? t('rescheduleHint', { deadline }) : undefined));
  const chosen = value && !Number.isNaN(new Date(value).getTime()) ? formatDateTime(new Date(value).toISOString(), locale, { dateStyle: 'full', timeStyle: 'short' }) : undefined;
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
          {chosen ? (
            <span className="hint" data-testid="reschedule-chosen">
              {t('rescheduleChosen', { time: chosen })}
            </span>
          ) : null}
          <span className="hint" id={`${id}-hint`}>
            {t('rescheduleHint', { deadline })}
          </span>
          {invalid ? (
            <span className="field-error" id={`${id}-error`} role="alert" data-testid="reschedule-error">
              {invalid}
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

/** The party's window as OUTSIDE_CALLING_HOURS carries it. */
type CallingHoursWindow = NonNullable<Schemas['Problem']['callingHours']>;

/** A time outside the party's calling hours, in their words: the window on their own clock. */
function outsideHours(error: unknown, t: Translate<JoinMessageKey>, locale: string): string | undefined {
  if (!(error instanceof ApiError) || error.code !== 'OUTSIDE_CALLING_HOURS') return undefined;
  const hours = error.problem.callingHours as CallingHoursWindow | undefined;
  if (!hours) return undefined;
  return t('rescheduleOutsideHours', {
    time: formatZonedReading(hours.requestedLocal, locale),
    start: hours.start,
    end: hours.end,
    days: hours.days.length === 7 ? t('rescheduleEveryDay') : weekdayNames(hours.days, locale),
    zone: zoneName(hours.timeZone, locale),
  });
}
