// The borrower's join page at /join/:token, mobile first: a clear page when the link cannot be used,
// then one-time code → consent → camera and microphone → waiting room → call (key terms and signing)
// → thank you. It opens in the language of the link (the party's language) and can be switched.
import { useCallback, useEffect, useRef, useState, type ReactNode } from 'react';
import { ApiError } from '../shared/api';
import { useNow } from '../shared/hooks';
import { formatDateTime, formatDuration, isLocale, LanguageSwitcher, LocaleProvider, useLocale, useT, type Locale } from '../shared/i18n';
import { matchPath, usePath } from '../shared/router';
import { CodeEntry } from './CodeEntry';
import { ConsentStep } from './ConsentStep';
import { DeviceCheck, stopStream } from './DeviceCheck';
import { CLOSED_STATES, FINISHED_STATES, JoinApi, recall, remember, type Overview } from './join-api';
import { LargeTextContext, useLargeText } from './large-text';
import { LiveRoom } from './LiveRoom';
import { joinMessages, type JoinMessageKey } from './messages';
import { Reschedule } from './Reschedule';
import './join.css';

type LinkProblem = 'LINK_INCOMPLETE' | 'BORROWER_LINK_INVALID' | 'BORROWER_LINK_EXPIRED' | 'BORROWER_LINK_USED_UP' | 'SESSION_CLOSED' | 'CANCELLED' | 'RATE_LIMITED' | 'OTHER';
const LINK_PROBLEMS = new Set<string>(['BORROWER_LINK_INVALID', 'BORROWER_LINK_EXPIRED', 'BORROWER_LINK_USED_UP', 'SESSION_CLOSED', 'RATE_LIMITED']);

/** A link's token as the server issues it; anything else was cut short or mangled on the way. */
const TOKEN_FORMAT = /^[A-Za-z0-9_-]{43}$/;

function problemOf(error: unknown): LinkProblem {
  return error instanceof ApiError && LINK_PROBLEMS.has(error.code) ? (error.code as LinkProblem) : 'OTHER';
}

export function JoinApp() {
  const path = usePath();
  const link = matchPath('/join/:token', path)?.token ?? '';
  // A token cut short (or no token) is told apart at once, without asking the server.
  const complete = TOKEN_FORMAT.test(link);
  const [api] = useState(() => new JoinApi(link, recall(link).partyToken));
  const [overview, setOverview] = useState<Overview>();
  const [problem, setProblem] = useState<LinkProblem>();
  const [finished, setFinished] = useState(false);
  // The language the page opens in: this tab's earlier choice, else the link's; decided once.
  const [bootLocale, setBootLocale] = useState<Locale>();
  const finishedRef = useRef(false);

  const refresh = useCallback(async () => {
    if (!complete) {
      setProblem('LINK_INCOMPLETE');
      return;
    }
    try {
      const next = await api.overview();
      if (!next.authenticated && api.token) api.forget();
      setOverview(next);
      setProblem(undefined);
      setBootLocale((current) => current ?? recall(link).locale ?? (isLocale(next.locale) ? next.locale : 'zh-CN'));
    } catch (error) {
      // After the call the link closes: the thank-you page stays.
      if (finishedRef.current) return;
      setProblem(problemOf(error));
    }
  }, [api, link, complete]);

  useEffect(() => {
    void refresh();
  }, [refresh]);

  const onSessionChanged = useCallback(
    (state: string) => {
      if (FINISHED_STATES.has(state)) {
        finishedRef.current = true;
        setFinished(true);
      } else if (CLOSED_STATES.has(state)) {
        setProblem(state === 'CANCELLED' ? 'CANCELLED' : 'SESSION_CLOSED');
        return;
      }
      void refresh();
    },
    [refresh],
  );

  return (
    <LocaleProvider key={bootLocale ?? 'auto'} initial={bootLocale}>
      <Shell>
        {finished && overview ? (
          <EndScreen overview={overview} />
        ) : problem ? (
          <ProblemPage problem={problem} retry={refresh} />
        ) : overview ? (
          <JoinFlow api={api} overview={overview} refresh={refresh} onSessionChanged={onSessionChanged} />
        ) : (
          <Loading />
        )}
      </Shell>
    </LocaleProvider>
  );
}

function Shell({ children }: { children: ReactNode }) {
  const t = useT(joinMessages);
  const [large, setLarge] = useLargeText();
  return (
    <div className="join-shell">
      <header>
        <span className="join-brand">
          <span className="logo" aria-hidden="true">
            fs
          </span>
          {t('title')}
        </span>
        <div className="join-tools">
          <button type="button" className="text-size" aria-pressed={large} onClick={() => setLarge(!large)} data-testid="large-text">
            <span aria-hidden="true" className="text-size-icon">
              A+
            </span>
            {t('largeText')}
          </button>
          <LanguageSwitcher label={t('language')} />
        </div>
      </header>
      <main>
        <LargeTextContext.Provider value={large}>{children}</LargeTextContext.Provider>
      </main>
      <footer className="legal">{t('footer')}</footer>
    </div>
  );
}

function Loading() {
  const t = useT(joinMessages);
  return (
    <div className="card" role="status">
      {t('loading')}
    </div>
  );
}

/** A card whose heading takes the focus when it appears, so each step starts at its top. */
function StepCard({ title, children, step, testId, icon }: { title: string; children: ReactNode; step?: number; testId: string; icon?: ReactNode }) {
  const t = useT(joinMessages);
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    heading.current?.focus();
  }, [testId]);
  const labels: JoinMessageKey[] = ['stepCode', 'stepConsent', 'stepDevices', 'stepCall'];
  return (
    <div className="stack">
      {step ? (
        <div role="group" aria-label={t('stepsLabel')}>
          <ol className="steps">
            {labels.map((key, i) => (
              <li key={key} aria-current={i + 1 === step ? 'step' : undefined} className={i + 1 < step ? 'done' : undefined}>
                <span className="n" aria-hidden="true">
                  {i + 1 < step ? '✓' : i + 1}
                </span>
                <span className="label">{t(key)}</span>
              </li>
            ))}
          </ol>
          <p className="visually-hidden">{t('stepOf', { n: step, total: labels.length })}</p>
        </div>
      ) : null}
      <section className="card stack" data-testid={testId} aria-labelledby={`${testId}-title`}>
        {icon}
        <h1 id={`${testId}-title`} ref={heading} tabIndex={-1}>
          {title}
        </h1>
        {children}
      </section>
    </div>
  );
}

function JoinFlow({ api, overview, refresh, onSessionChanged }: { api: JoinApi; overview: Overview; refresh(): Promise<void>; onSessionChanged(state: string): void }) {
  const t = useT(joinMessages);
  const { locale } = useLocale();
  const now = useNow(1000);
  const [stream, setStream] = useState<MediaStream | null>(null);

  useEffect(() => remember(api.link, { locale }), [api, locale]);
  useEffect(() => () => stopStream(stream), [stream]);

  const appointment = formatDateTime(overview.appointmentAt, locale, { dateStyle: 'full', timeStyle: 'short' });

  if (!overview.authenticated) {
    return (
      <StepCard title={t('hello', { name: overview.partyName })} step={1} testId="step-code">
        <p className="appointment">{t('appointment', { time: appointment })}</p>
        <p>{t('codeIntro')}</p>
        <CodeEntry
          status={overview.otp.join}
          sendLabel={t('sendCode')}
          codeLabel={t('codeLabel')}
          submitLabel={t('continue')}
          send={() => api.sendCode('join')}
          submit={async (code) => {
            await api.verifyCode(code);
            await refresh();
          }}
          refresh={refresh}
        />
      </StepCard>
    );
  }
  if (!overview.consented) {
    return (
      <StepCard title={t('consentTitle')} step={2} testId="step-consent">
        <ConsentStep api={api} overview={overview} done={refresh} />
      </StepCard>
    );
  }
  if (stream) {
    return (
      <StepCard title={t('stepCall')} step={4} testId="step-live">
        <LiveRoom api={api} overview={overview} stream={stream} refresh={refresh} onSessionChanged={onSessionChanged} />
      </StepCard>
    );
  }
  const opensAt = Date.parse(overview.waitingRoomOpensAt);
  if (['SCHEDULED', 'RETRY_PENDING'].includes(overview.state) && now < opensAt) {
    const sameDay = new Date(opensAt).toDateString() === new Date(now).toDateString();
    const opens = formatDateTime(overview.waitingRoomOpensAt, locale, sameDay ? { timeStyle: 'short' } : { dateStyle: 'medium', timeStyle: 'short' });
    const soon = opensAt - now < 2 * 3600_000;
    return (
      <StepCard title={t('earlyTitle')} step={3} testId="step-early">
        <p>{t('earlyBody', { time: appointment, opens })}</p>
        {soon ? (
          <>
            <p className="big-number countdown" aria-hidden="true" data-testid="countdown">
              {formatDuration(opensAt - now)}
            </p>
            {/* Read out once a minute, not every second. */}
            <p className="visually-hidden" role="timer" aria-live="polite" aria-atomic="true" data-testid="countdown-spoken">
              {t('earlyCountdownSpoken', { m: Math.max(1, Math.ceil((opensAt - now) / 60_000)) })}
            </p>
          </>
        ) : null}
        <p className="hint">{t('earlyKeepOpen')}</p>
        <Reschedule api={api} overview={overview} done={refresh} />
      </StepCard>
    );
  }
  return (
    <StepCard title={t('devicesTitle')} step={3} testId="step-devices">
      <DeviceCheck done={setStream} />
      <Reschedule api={api} overview={overview} done={refresh} />
    </StepCard>
  );
}

const PROBLEM_TEXT: Record<LinkProblem, [JoinMessageKey, JoinMessageKey]> = {
  LINK_INCOMPLETE: ['incompleteTitle', 'incompleteBody'],
  BORROWER_LINK_INVALID: ['invalidTitle', 'invalidBody'],
  BORROWER_LINK_EXPIRED: ['expiredTitle', 'expiredBody'],
  BORROWER_LINK_USED_UP: ['usedUpTitle', 'usedUpBody'],
  SESSION_CLOSED: ['closedTitle', 'closedBody'],
  CANCELLED: ['cancelledTitle', 'cancelledBody'],
  RATE_LIMITED: ['busyTitle', 'busyBody'],
  OTHER: ['offlineTitle', 'offlineBody'],
};

function ProblemPage({ problem, retry }: { problem: LinkProblem; retry(): Promise<void> }) {
  const t = useT(joinMessages);
  const [title, body] = PROBLEM_TEXT[problem];
  const transient = problem === 'RATE_LIMITED' || problem === 'OTHER';
  return (
    <StepCard
      title={t(title)}
      testId={`problem-${problem.toLowerCase().replace(/_/g, '-')}`}
      icon={
        <div className={`problem-icon ${transient ? 'warn' : 'bad'}`} aria-hidden="true">
          {transient ? '!' : '×'}
        </div>
      }
    >
      <h2 className="what-now">{t('whatNow')}</h2>
      <p>{t(body)}</p>
      {transient ? (
        <button type="button" className="primary" onClick={() => void retry()}>
          {t('retry')}
        </button>
      ) : null}
    </StepCard>
  );
}

function EndScreen({ overview }: { overview: Overview }) {
  const t = useT(joinMessages);
  const { locale } = useLocale();
  return (
    <StepCard
      title={t('endTitle')}
      testId="step-end"
      icon={
        <div className="problem-icon ok" aria-hidden="true">
          ✓
        </div>
      }
    >
      <p>{t('endBody')}</p>
      {overview.terms?.signedAt ? (
        <p className="alert ok" role="status">
          {t('signDone', { time: formatDateTime(overview.terms.signedAt, locale) })}
        </p>
      ) : null}
      <p className="hint">{t('endClose')}</p>
    </StepCard>
  );
}
