// An agent console's socket connection, for tests: presence, heartbeats and the events it receives.
import { io, type Socket } from 'socket.io-client';
import type { ApiClient } from './api-client.js';

export interface AgentSocket {
  socket: Socket;
  events: { event: string; payload: Record<string, unknown> }[];
  next(event: string, predicate?: (payload: Record<string, unknown>) => boolean): Promise<Record<string, unknown>>;
  emit(event: string, payload?: unknown): Promise<{ ok: boolean; code?: string }>;
  close(): void;
}

export async function connectAgent(baseUrl: string, client: ApiClient): Promise<AgentSocket> {
  const socket = io(`${baseUrl}/agent`, { transports: ['websocket'], extraHeaders: { cookie: client.cookieHeader() }, reconnection: false, forceNew: true });
  const events: AgentSocket['events'] = [];
  const waiters: { event: string; predicate: (p: Record<string, unknown>) => boolean; resolve: (p: Record<string, unknown>) => void }[] = [];
  socket.onAny((event: string, payload: Record<string, unknown>) => {
    events.push({ event, payload });
    for (const w of [...waiters]) {
      if (w.event === event && w.predicate(payload)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(payload);
      }
    }
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', (err) => reject(err));
  });
  return {
    socket,
    events,
    next(event, predicate = () => true) {
      const seen = events.find((e) => e.event === event && predicate(e.payload));
      if (seen) return Promise.resolve(seen.payload);
      return new Promise((resolve) => waiters.push({ event, predicate, resolve }));
    },
    emit: (event, payload = {}) => new Promise((resolve) => socket.emit(event, payload, resolve)),
    close: () => void socket.close(),
  };
}
