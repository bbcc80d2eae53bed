// One-time code: send it, enter it (one field, numeric keyboard, the phone may fill it from the SMS),
// and say plainly what went wrong: wrong code with the tries left, expired, locked until when.
import { useEffect, useId, useRef, useState, type FormEvent } from 'react';
import { ApiError } from '../shared/api';
import { JoinError } from './JoinError';
import { useNow } from '../shared/hooks';
import { formatDateTime, useLocale, useT } from '../shared/i18n';
import type { CodeStatus } from './join-api';
import { joinMessages } from './messages';

export interface CodeEntryProps {
  status: CodeStatus;
  sendLabel: string;
  codeLabel: string;
  submitLabel: string;
  send(): Promise<void>;
  submit(code: string): Promise<void>;
  /** Refetches the status after a failure (tries left, lock). */
  refresh(): Promise<void>;
}

const KNOWN = new Set(['OTP_INVALID', 'OTP_EXPIRED', 'OTP_LOCKED', 'RATE_LIMITED']);

export function CodeEntry({ status, sendLabel, codeLabel, submitLabel, send, submit, refresh }: CodeEntryProps) {
  const t = useT(joinMessages);
  const { locale } = useLocale();
  const now = useNow(1000);
  const id = useId();
  const input = useRef<HTMLInputElement>(null);
  const [code, setCode] = useState('');
  const [sent, setSent] = useState(false);
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<'format' | string | undefined>();
  const [error, setError] = useState<unknown>();

  const lockedUntil = status.lockedUntil && Date.parse(status.lockedUntil) > now ? status.lockedUntil : null;
  const resendIn = status.resendAt ? Math.ceil((Date.parse(status.resendAt) - now) / 1000) : 0;
  const showInput = (status.pending || sent) && !lockedUntil;

  useEffect(() => {
    if (sent) input.current?.focus();
  }, [sent]);

  const fail = async (caught: unknown) => {
    if (caught instanceof ApiError && KNOWN.has(caught.code)) {
      setProblem(caught.code);
      setError(undefined);
      if (caught.code === 'OTP_EXPIRED' || caught.code === 'OTP_LOCKED') setSent(false);
      await refresh().catch(() => undefined);
    } else {
      setProblem(undefined);
      setError(caught);
    }
  };

  const onSend = async () => {
    setBusy(true);
    try {
      await send();
    } catch (caught) {
      await fail(caught);
      setBusy(false);
      return;
    }
    setSent(true);
    setProblem(undefined);
    setError(undefined);
    setCode('');
    // The code can be entered and submitted at once (a quick borrower, the phone's SMS autofill): the
    // status that follows (tries left, when a new code may be asked for) must not hold the form disabled.
    setBusy(false);
    input.current?.focus();
    await refresh().catch(fail);
  };

  const onSubmit = async (event: FormEvent) => {
    event.preventDefault();
    if (!/^\d{6}$/.test(code)) {
      setProblem('format');
      input.current?.focus();
      return;
    }
    setBusy(true);
    try {
      await submit(code);
    } catch (caught) {
      setCode('');
      await fail(caught);
      input.current?.focus();
    } finally {
      setBusy(false);
    }
  };

  let message: string | undefined;
  if (lockedUntil) message = t('codeLocked', { time: formatDateTime(lockedUntil, locale, { timeStyle: 'short' }) });
  else if (problem === 'format') message = t('codeFormat');
  else if (problem === 'OTP_INVALID') message = status.triesLeft === 1 ? t('codeWrongOne') : t('codeWrong', { n: status.triesLeft });
  else if (problem === 'OTP_EXPIRED') message = t('codeExpired');
  else if (problem === 'OTP_LOCKED') message = t('codeLocked', { time: '—' });
  else if (problem === 'RATE_LIMITED') message = t('codeWait');

  return (
    <div className="stack">
      {message && !showInput ? (
        <div className="alert error" role="alert" id={`${id}-error`}>
          {message}
        </div>
      ) : null}
      <JoinError error={error} />
      {showInput ? (
        <form className="stack" onSubmit={onSubmit} noValidate>
          {sent && !message ? (
            <p className="alert info" role="status">
              {t('codeSent')}
            </p>
          ) : null}
          <label className="field" htmlFor={`${id}-code`}>
            {codeLabel}
            <input
              ref={input}
              id={`${id}-code`}
              className="otp-input"
              name="one-time-code"
              inputMode="numeric"
              autoComplete="one-time-code"
              pattern="[0-9]*"
              maxLength={6}
              value={code}
              onChange={(e) => setCode(e.target.value.replace(/\D/g, '').slice(0, 6))}
              aria-invalid={message ? true : undefined}
              aria-describedby={`${id}-hint${message ? ` ${id}-error` : ''}`}
            />
            <span className="hint" id={`${id}-hint`}>
              {t('codeHint')}
            </span>
          </label>
          {message ? (
            <div className="alert error" role="alert" id={`${id}-error`}>
              {message}
            </div>
          ) : null}
          <button type="submit" className="primary" disabled={busy}>
            {submitLabel}
          </button>
        </form>
      ) : null}
      <div className="stack tight">
        <button type="button" className={showInput ? '' : 'primary'} onClick={onSend} disabled={busy || Boolean(lockedUntil) || resendIn > 0}>
          {showInput ? t('sendNewCode') : sendLabel}
        </button>
        {resendIn > 0 && !lockedUntil ? (
          <p className="hint">
            {t('resendIn', { s: resendIn })}
          </p>
        ) : null}
      </div>
    </div>
  );
}
