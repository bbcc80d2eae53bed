// The waiting room and the call. Entering opens the party socket (place in line, session changes),
// asks the server for the room, and joins it: with real LiveKit through livekit-client, with the dev
// simulator through its control API (then the page says plainly that media is simulated).
import { useEffect, useRef, useState } from 'react';
import type { PartySocket } from '../shared/socket';
import { clientConfig } from '../shared/client-config';
import { joinMedia, type MediaConnection, type MediaMode } from '../shared/media';
import { partySocket } from '../shared/socket';
import { formatDateTime, useLocale, useT } from '../shared/i18n';
import { useLabels } from '../shared/labels';
import { CodeEntry } from './CodeEntry';
import { ContractViewer } from './ContractViewer';
import { Preview } from './DeviceCheck';
import type { JoinApi, KeyTerms, Overview } from './join-api';
import { JoinError } from './JoinError';
import { joinMessages } from './messages';

type Connection = 'connecting' | 'connected' | 'reconnecting' | 'failed';

export function LiveRoom({ api, overview, stream, refresh, onSessionChanged }: { api: JoinApi; overview: Overview; stream: MediaStream; refresh(): Promise<void>; onSessionChanged(state: string): void }) {
  const t = useT(joinMessages);
  const [state, setState] = useState<string>();
  const [position, setPosition] = useState<number>();
  const [live, setLive] = useState(false);
  const [mode, setMode] = useState<MediaMode>();
  const [connection, setConnection] = useState<Connection>('connecting');
  const [error, setError] = useState<unknown>();
  const [attempt, setAttempt] = useState(0);
  const remote = useRef<HTMLDivElement>(null);
  const [remoteVideo, setRemoteVideo] = useState(false);
  const [socket, setSocket] = useState<PartySocket>();
  const changed = useRef(onSessionChanged);
  changed.current = onSessionChanged;
  const refreshRef = useRef(refresh);
  refreshRef.current = refresh;

  // Live state: the place in line and the session's changes, for as long as the page is in the room.
  useEffect(() => {
    const token = api.token;
    if (!token) return;
    const socket: PartySocket = partySocket(api.link, token);
    setSocket(socket);
    socket.on('connect', () => setLive(true));
    socket.on('disconnect', () => setLive(false));
    // A place in line can arrive late (computed before an agent took the session): show it at once,
    // then let a fresh overview confirm it.
    let confirm: ReturnType<typeof setTimeout> | undefined;
    socket.on('waiting:position', (p) => {
      setPosition(p.position);
      clearTimeout(confirm);
      confirm = setTimeout(() => void refreshRef.current(), 400);
    });
    socket.on('session:changed', (p) => {
      setState(p.state);
      // The agent's attempt ended after a drop: enter again, in a new room.
      if (p.state === 'DISPATCHING') setAttempt((n) => n + 1);
      changed.current(p.state);
    });
    return () => {
      clearTimeout(confirm);
      socket.close();
      setSocket(undefined);
    };
  }, [api]);

  // A refetch after a change (e.g. an agent took the session) knows the place in line too.
  useEffect(() => {
    if (overview.position !== null) setPosition(overview.position);
  }, [overview]);

  // Enter the waiting room (or rejoin the call) and join the room's media.
  useEffect(() => {
    let cancelled = false;
    let media: MediaConnection | undefined;
    setConnection('connecting');
    setError(undefined);
    void (async () => {
      try {
        const [config, grant] = await Promise.all([clientConfig(), api.ready()]);
        if (cancelled) return;
        setState(grant.state);
        setPosition((p) => p ?? grant.position);
        const mediaMode: MediaMode = config.media === 'simulated' ? 'simulated' : 'livekit';
        setMode(mediaMode);
        const joined = await joinMedia(grant, mediaMode, { audio: true, video: true }, {
          onRemoteMedia: (element, kind) => {
            if (kind === 'video') setRemoteVideo(true);
            element.classList.add(kind === 'video' ? 'remote-video' : 'remote-audio');
            remote.current?.appendChild(element);
          },
          // The agent's page reloaded: the "waiting for the agent's video" hint returns until it is back.
          onRemoteMediaEnded: () => setRemoteVideo(!!remote.current?.querySelector('video')),
          onReconnecting: () => setConnection('reconnecting'),
          onReconnected: () => setConnection('connected'),
          onDisconnected: () => !cancelled && setConnection('failed'),
        });
        if (cancelled) {
          await joined.leave();
          return;
        }
        media = joined;
        setConnection('connected');
      } catch (caught) {
        if (cancelled) return;
        setConnection('failed');
        setError(caught);
        // The refusal may mean the verification closed meanwhile: let the page look again.
        changed.current('');
      }
    })();
    return () => {
      cancelled = true;
      void media?.leave();
    };
  }, [api, attempt]);

  const inCall = state === 'IN_PROGRESS';
  return (
    <div className="stack">
      <div className="row status-row">
        <span className={`badge ${live ? 'ok' : 'warn'}`} role="status" data-testid="live-updates">
          <span className="dot" aria-hidden="true" />
          {t('liveUpdates')}: {live ? t('liveConnected') : t('liveReconnecting')}
        </span>
        {mode === 'simulated' ? (
          <span className="badge info" data-testid="simulated-media">
            {t('simulatedTitle')}
          </span>
        ) : null}
        {inCall ? (
          <span className="badge bad live">
            <span className="dot" aria-hidden="true" />
            {t('recordingNotice')}
          </span>
        ) : null}
      </div>

      {connection === 'failed' ? (
        <div className="stack">
          {error ? <JoinError error={error} /> : <div className="alert error" role="alert">{t('mediaFailed')}</div>}
          <button type="button" className="primary" onClick={() => setAttempt((n) => n + 1)}>
            {t('retry')}
          </button>
        </div>
      ) : null}
      {connection === 'reconnecting' ? (
        <div className="alert warn" role="status">
          {t('reconnecting')}
        </div>
      ) : null}

      {inCall ? (
        <section className="stack" aria-labelledby="call-heading" data-testid="in-call">
          <h2 id="call-heading">{t('inCallTitle')}</h2>
          <p>{t('inCallBody')}</p>
        </section>
      ) : (
        <section className="stack" aria-labelledby="waiting-heading" data-testid="waiting-room">
          <h2 id="waiting-heading">{t('waitingTitle')}</h2>
          {state === undefined ? (
            <p role="status">{t('entering')}</p>
          ) : position && position > 0 ? (
            <div className="position" role="status" aria-live="polite" aria-atomic="true" data-testid="queue-place">
              <span className="hint">{t('waitingPosition')}</span>
              <span className="big-number" data-testid="position">
                {position}
              </span>
              {position === 1 ? <span>{t('waitingNext')}</span> : null}
            </div>
          ) : (
            <div className="alert info" role="status" data-testid="agent-coming">
              {t('agentComing')}
            </div>
          )}
          <p>{t('waitingAhead')}</p>
          {mode === 'simulated' ? <p className="alert info">{t('simulatedBody')}</p> : null}
          <Preview stream={stream} label={t('preview')} />
        </section>
      )}
      {/* Always mounted, so the agent's media attached while waiting is still here in the call. */}
      <div className="call-stage" hidden={!inCall}>
        {mode === 'simulated' ? (
          <div className="simulated-stage">
            <strong>{t('simulatedTitle')}</strong>
            <span>{t('simulatedBody')}</span>
          </div>
        ) : (
          <div className="remote-stage" ref={remote} aria-label={t('agentVideo')}>
            {remoteVideo ? null : <span className="hint">{t('agentVideoWaiting')}</span>}
          </div>
        )}
        {inCall ? <Preview stream={stream} label={t('preview')} className="self-view" /> : null}
      </div>
      {inCall && overview.terms ? <Terms terms={overview.terms} /> : null}
      {inCall && overview.contractToSign ? <ContractViewer api={api} socket={socket} terms={overview.terms} /> : null}
      {inCall && overview.contractToSign && overview.terms ? <SignPanel api={api} overview={overview} terms={overview.terms} refresh={refresh} /> : null}
    </div>
  );
}

function formatAmount(amount: string, currency: string, locale: string): string {
  try {
    return new Intl.NumberFormat(locale, { style: 'currency', currency }).format(Number(amount));
  } catch {
    return `${amount} ${currency}`;
  }
}

export function Terms({ terms }: { terms: KeyTerms }) {
  const t = useT(joinMessages);
  const labels = useLabels();
  const { locale } = useLocale();
  return (
    <section className="terms" aria-labelledby="terms-heading">
      <h2 id="terms-heading">{t('termsTitle')}</h2>
      <div className="amount-row">
        <span className="hint">
          {t('termsAmount')}
        </span>
        <span className="amount" data-testid="terms-amount">
          {formatAmount(terms.amount, terms.currency, locale)}
        </span>
      </div>
      <dl>
        <dt>{t('termsCurrency')}</dt>
        <dd>{terms.currency}</dd>
        <dt>{t('termsProduct')}</dt>
        <dd data-testid="terms-product">{labels.productNamed(terms.product, terms.productName)}</dd>
        <dt>{t('termsReference')}</dt>
        <dd className="mono">{terms.loanReference}</dd>
        {terms.documentHash ? (
          <>
            <dt>{t('termsDocument')}</dt>
            <dd className="mono" title={terms.documentHash}>
              {terms.documentHash.slice(0, 8)}…{terms.documentHash.slice(-4)}
            </dd>
          </>
        ) : null}
      </dl>
    </section>
  );
}

function SignPanel({ api, overview, terms, refresh }: { api: JoinApi; overview: Overview; terms: KeyTerms; refresh(): Promise<void> }) {
  const t = useT(joinMessages);
  const { locale } = useLocale();
  if (terms.signedAt) {
    return (
      <div className="alert ok" role="status" data-testid="signed">
        ✓ {t('signDone', { time: formatDateTime(terms.signedAt, locale) })}
      </div>
    );
  }
  return (
    <section className="sign stack" aria-labelledby="sign-heading">
      <h2 id="sign-heading">{t('signTitle')}</h2>
      <p>{t('signIntro')}</p>
      {terms.documentHash ? (
        <p data-testid="sign-document">
          {t('signDocument')}{' '}
          <code className="mono hash">{terms.documentHash}</code>
        </p>
      ) : null}
      <CodeEntry
        status={overview.otp.sign}
        sendLabel={t('signSend')}
        codeLabel={t('signCodeLabel')}
        submitLabel={t('signSubmit')}
        send={() => api.sendCode('sign')}
        submit={async (code) => {
          await api.sign(code);
          await refresh();
        }}
        refresh={refresh}
      />
    </section>
  );
}
