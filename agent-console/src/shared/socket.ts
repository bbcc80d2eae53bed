// Live state over socket.io. Events are thin (ids, states, versions); pages refetch details over HTTP.
import { io, type Socket } from 'socket.io-client';

/** The staff namespace: the login cookie authenticates, the server checks the Origin. */
export function agentSocket(): Socket {
  return io('/agent', { withCredentials: true, transports: ['websocket', 'polling'] });
}

/** The borrower namespace: authenticated by the join link and the party token from the one-time code. */
export function partySocket(link: string, partyToken: string): Socket {
  return io('/party', { auth: { link, partyToken }, transports: ['websocket', 'polling'] });
}
