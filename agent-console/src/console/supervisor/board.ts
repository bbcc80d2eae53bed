// The board's data: an HTTP snapshot, loaded again whenever the /agent socket says something changed
// (presence, a session, an offer, an alert: events are thin), and again after a reconnect, since events sent while disconnected are lost.
import { useCallback, useEffect, useRef, useState } from 'react';
import { call, client, type Schemas } from '../../shared/api';
import { agentSocket } from '../../shared/socket';
import { useAuth } from '../auth';

export type BoardSnapshot = Schemas['SupervisorBoard'];
export type BoardAgent = BoardSnapshot['agents'][number];
export type BoardSession = BoardSnapshot['sessions'][number];
export type Presence = BoardAgent['presence'];
export type Column = BoardSession['column'];
export const COLUMNS: readonly Column[] = ['waiting', 'offered', 'dialling', 'retry_pending', 'in_progress', 'wrap_up', 'escalated'];

/**
 * An alert as the board lists it: the snapshot's, or one heard on the socket that the snapshot does not
 * list (e.g. a recording that never started), whose kind is any the server sends and which has its message.
 */
export type BoardAlert = Omit<BoardSnapshot['alerts'][number], 'kind'> & { kind: string; message?: string };

export type LiveState = 'connecting' | 'live' | 'interrupted';

export interface Board {
  snapshot: BoardSnapshot | undefined;
  error: unknown;
  live: LiveState;
  /** Alerts newest first: the snapshot's, plus live ones it does not (yet) list. */
  alerts: BoardAlert[];
  reload(): void;
}

/** Events arrive in bursts (a transition, an offer, a presence change): one reload per burst. */
const RELOAD_DEBOUNCE_MS = 150;

export function useBoard(): Board {
  const [snapshot, setSnapshot] = useState<BoardSnapshot>();
  const [error, setError] = useState<unknown>();
  const [live, setLive] = useState<LiveState>('connecting');
  const [liveAlerts, setLiveAlerts] = useState<BoardAlert[]>([]);
  const latest = useRef(0);
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const { refresh } = useAuth();

  const load = useCallback(async () => {
    const ticket = ++latest.current;
    try {
      const next = await call(client.GET('/api/supervision/board'));
      // A slower, older answer must not overwrite a newer one.
      if (ticket !== latest.current) return;
      setSnapshot(next);
      setError(undefined);
    } catch (e) {
      if (ticket === latest.current) setError(e);
    }
  }, []);

  const reload = useCallback(() => {
    clearTimeout(timer.current);
    timer.current = setTimeout(() => void load(), RELOAD_DEBOUNCE_MS);
  }, [load]);

  useEffect(() => {
    void load();
    let disposed = false;
    const socket = agentSocket(async () => (await refresh()) !== null && !disposed);
    socket.on('connect', () => {
      setLive('live');
      // Whatever happened while we were away was not heard: read the board again.
      void load();
    });
    socket.on('disconnect', () => setLive('interrupted'));
    socket.on('connect_error', () => setLive('interrupted'));
    socket.on('presence:changed', reload);
    socket.on('session:changed', reload);
    socket.on('offer:changed', reload);
    socket.on('alert', (event) => {
      const at = new Date().toISOString();
      setLiveAlerts((list) => [{ id: `live:${event.kind}:${event.sessionId ?? ''}:${at}`, kind: event.kind, sessionId: event.sessionId ?? null, loanFileRef: null, at, detail: null, agentName: null, message: event.message }, ...list].slice(0, 50));
      reload();
    });
    return () => {
      disposed = true;
      clearTimeout(timer.current);
      socket.close();
    };
  }, [load, reload, refresh]);

  const listed = snapshot?.alerts ?? [];
  // A live alert is replaced by the snapshot's entry of the same kind for the same session once it is there.
  const unlisted = liveAlerts.filter((a) => !listed.some((s) => s.kind === a.kind && s.sessionId === a.sessionId));
  const alerts = [...unlisted, ...listed].sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0));
  return { snapshot, error, live, alerts, reload: () => void load() };
}

const DISMISSED_KEY = 'facesign.supervisor.dismissedAlerts';

/** Alerts this browser dismissed (kept in localStorage, at most the last 500). */
export function useDismissed(): { dismissed: Set<string>; dismiss(id: string): void; restore(): void } {
  const [dismissed, setDismissed] = useState<Set<string>>(() => {
    try {
      const stored = JSON.parse(localStorage.getItem(DISMISSED_KEY) ?? '[]') as unknown;
      return new Set(Array.isArray(stored) ? stored.filter((x): x is string => typeof x === 'string') : []);
    } catch {
      return new Set();
    }
  });
  const save = (next: Set<string>) => {
    setDismissed(next);
    try {
      localStorage.setItem(DISMISSED_KEY, JSON.stringify([...next].slice(-500)));
    } catch {
      // not remembered after a reload, still hidden now
    }
  };
  return {
    dismissed,
    dismiss: (id) => save(new Set([...dismissed, id])),
    restore: () => save(new Set()),
  };
}
