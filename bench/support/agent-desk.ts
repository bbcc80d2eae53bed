// An agent at the desk over socket.io, as the console keeps one: available, a heartbeat every 10 s, and
// every offer accepted over HTTP the moment it arrives.
import type { Socket } from 'socket.io-client';

export interface DeskAgent {
  cookie: string;
  csrfToken: string;
}

/**
 * Keeps `socket` (opened with the agent's cookie) at the desk; resolves once the agent is available.
 * `onAccepted` gets each acceptance's response, `onFailed` a request that got none.
 */
export function keepAtDesk(socket: Socket, url: string, agent: DeskAgent, heartbeats: NodeJS.Timeout[], onAccepted: (res: Response) => Promise<void>, onFailed: (error: Error) => void): Promise<void> {
  socket.on('offer:new', (offer: { offerId: string }) => {
    fetch(`${url}/api/offers/${offer.offerId}/accept`, { method: 'POST', headers: { cookie: agent.cookie, 'x-csrf-token': agent.csrfToken } }).then(onAccepted, onFailed);
  });
  return new Promise<void>((resolve) => {
    socket.once('connect', () => {
      socket.emit('presence:set', { presence: 'available' }, () => resolve());
      heartbeats.push(setInterval(() => socket.emit('heartbeat', {}), 10_000));
    });
  });
}
