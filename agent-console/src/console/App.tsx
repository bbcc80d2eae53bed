import { Suspense, useEffect, useState, type FormEvent } from 'react';
import { ApiError } from '../shared/api';
import { ErrorNote } from '../shared/ErrorNote';
import { LanguageSwitcher, useT, type Translate } from '../shared/i18n';
import { clientConfig, type ClientConfig } from '../shared/client-config';
import { Link, matchPath, navigate, usePath } from '../shared/router';
import { hasRole, useAuth } from './auth';
import { shellMessages } from './messages';
import { PAGES } from './pages';

export function App() {
  const { user } = useAuth();
  const path = usePath();
  const t = useT(shellMessages);
  const allowed = PAGES.filter((p) => hasRole(user, p.roles));

  useEffect(() => {
    if (user === null && path !== '/login') navigate(`/login?next=${encodeURIComponent(path)}`, { replace: true });
    if (user && (path === '/' || path === '/login')) {
      const next = new URLSearchParams(location.search).get('next');
      navigate(next && next.startsWith('/') && !next.startsWith('//') ? next : (allowed[0]?.path ?? '/desk'), { replace: true });
    }
  }, [user, path, allowed]);

  if (user === undefined) return <p className="page">{t('loading')}</p>;
  if (user === null) return <LoginPage />;

  const current = PAGES.map((page) => ({ page, params: [page.path, ...(page.patterns ?? [])].map((p) => matchPath(p, path)).find(Boolean) })).find((m) => m.params);
  return (
    <div className="shell">
      <TopBar />
      <main className="page">
        <MediaBanner />
        {current && hasRole(user, current.page.roles) ? (
          <Suspense fallback={<p>{t('loading')}</p>}>
            <current.page.component params={current.params ?? {}} />
          </Suspense>
        ) : current ? (
          <div className="alert error" role="alert">{t('notAllowed')}</div>
        ) : null}
      </main>
    </div>
  );
}

function TopBar() {
  const { user, signOut } = useAuth();
  const t = useT(shellMessages);
  return (
    <header className="topbar">
      <span className="brand">{t('brand')}</span>
      <nav aria-label={t('navLabel')}>
        {PAGES.filter((p) => hasRole(user, p.roles)).map((p) => (
          <Link key={p.path} to={p.path}>
            {t(p.nav)}
          </Link>
        ))}
      </nav>
      <span className="hint" style={{ color: '#94a3b8' }}>{user ? t('signedInAs', { name: user.displayName }) : null}</span>
      <LanguageSwitcher />
      <button type="button" onClick={() => void signOut()}>
        {t('signOut')}
      </button>
    </header>
  );
}

/** Honest about media: the simulator has none, and without LiveKit nothing can start. */
export function MediaBanner() {
  const t = useT(shellMessages);
  const [config, setConfig] = useState<ClientConfig>();
  useEffect(() => {
    clientConfig().then(setConfig, () => undefined);
  }, []);
  if (config?.media === 'simulated') return <div className="alert info" data-testid="simulated-media">{t('simulatedMedia')}</div>;
  if (config?.media === 'none') return <div className="alert warn">{t('noMedia')}</div>;
  return null;
}

/** Sign-in refusals in the page's language with the wait the server named (the code is kept for support, as in ErrorNote, not shown). */
function loginProblem(error: unknown, t: Translate<keyof (typeof shellMessages)['en']>) {
  if (!(error instanceof ApiError)) return null;
  // The server names the wait on both refusals; a minute if something on the way dropped the header.
  const s = String(error.retryAfterSeconds ?? 60);
  const text = error.code === 'INVALID_CREDENTIALS' ? t('loginWrong') : error.code === 'ACCOUNT_LOCKED' ? t('loginHeld', { s }) : error.code === 'RATE_LIMITED' ? t('loginThrottled', { s }) : null;
  return text ? (
    <div className="alert error" role="alert" data-code={error.code}>
      {text}
    </div>
  ) : null;
}

function LoginPage() {
  const { signIn } = useAuth();
  const t = useT(shellMessages);
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await signIn(email, password);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <main className="page" style={{ maxWidth: 420, marginTop: '10vh' }}>
      <div className="spread">
        <h1>{t('loginTitle')}</h1>
        <LanguageSwitcher />
      </div>
      <form className="panel" onSubmit={(e) => void submit(e)} noValidate>
        {loginProblem(error, t) ?? <ErrorNote error={error} />}
        <label className="field">
          {t('email')}
          <input type="email" autoComplete="username" required value={email} onChange={(e) => setEmail(e.target.value)} />
        </label>
        <label className="field">
          {t('password')}
          <input type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} />
        </label>
        <button className="primary" type="submit" disabled={busy}>
          {busy ? t('signingIn') : t('signIn')}
        </button>
      </form>
    </main>
  );
}
