// Many socket.io clients in their own process (so that receiving does not share the server's event
// loop). Started with IPC by the realtime benchmark:
//   parent -> { type: 'connect', url, namespace, cookies?: string[], count }   child -> { type: 'ready', connected }
//   parent -> { type: 'report' }   child -> { type: 'report', received: { [key]: number[] } }   (key = sessionId:version)
// With `agents` (cookie + CSRF token each), the clients are agents at their desks instead: they go
// available, keep their heartbeat, and accept every offer they get over HTTP at once.
// Receive times are wall-clock milliseconds (performance.timeOrigin + now), comparable across processes.
import { io, type Socket } from 'socket.io-client';
import { keepAtDesk } from './agent-desk.js';

interface ConnectMessage {
  type: 'connect';
  url: string;
  namespace: string;
  count: number;
  cookies?: string[];
  event: string;
  agents?: { cookie: string; csrfToken: string }[];
}

const sockets: Socket[] = [];
const received = new Map<string, number[]>();
const now = () => performance.timeOrigin + performance.now();
const accepted = { attempted: 0, ok: 0, errors: 0, refused: {} as Record<number, number> };
const heartbeats: NodeJS.Timeout[] = [];

async function connectAll(message: ConnectMessage): Promise<number> {
  const open = (i: number) =>
    new Promise<void>((resolve, reject) => {
      const cookie = message.cookies?.[i];
      const socket = io(`${message.url}${message.namespace}`, { transports: ['websocket'], reconnection: false, forceNew: true, ...(cookie ? { extraHeaders: { cookie } } : {}) });
      socket.on(message.event, (payload: { sessionId: string; version: number }) => {
        const t = now();
        const key = `${payload.sessionId}:${payload.version}`;
        const list = received.get(key);
        if (list) list.push(t);
        else received.set(key, [t]);
      });
      const agent = message.agents?.[i];
      if (agent) {
        const onAccepted = async (res: Response) => {
          accepted.attempted += 1;
          await res.arrayBuffer();
          if (res.status === 200) accepted.ok += 1;
          else accepted.refused[res.status] = (accepted.refused[res.status] ?? 0) + 1;
        };
        keepAtDesk(socket, message.url, agent, heartbeats, onAccepted, () => {
          accepted.attempted += 1;
          accepted.errors += 1;
        }).then(resolve, reject);
      } else {
        socket.once('connect', () => resolve());
      }
      socket.once('connect_error', (err) => reject(err));
      sockets.push(socket);
    });
  // In batches, as consoles would arrive: a thousand handshakes at once is a different benchmark.
  for (let i = 0; i < message.count; i += 50) {
    await Promise.all(Array.from({ length: Math.min(50, message.count - i) }, (_, j) => open(i + j)));
  }
  return sockets.filter((s) => s.connected).length;
}

process.on('message', (message: { type: string }) => {
  if (message.type === 'connect') {
    connectAll(message as ConnectMessage).then(
      (connected) => process.send?.({ type: 'ready', connected }),
      (error: Error) => process.send?.({ type: 'error', message: error.message }),
    );
  } else if (message.type === 'report') {
    process.send?.({ type: 'report', received: Object.fromEntries(received), accepted });
  } else if (message.type === 'close') {
    for (const h of heartbeats) clearInterval(h);
    for (const s of sockets) s.close();
    process.exit(0);
  }
});
