// Live state over socket.io. Events are thin (ids, states, versions); pages refetch details over HTTP.
// The event maps are the server's own (server/realtime/events.ts, derived from its zod schemas); the
// import is type-only, so no server code reaches the bundle.
import { io, type Socket } from 'socket.io-client';
import type { AgentClientToServerEvents, AgentServerToClientEvents, PartyClientToServerEvents, PartyServerToClientEvents } from '../../../server/realtime/events';

export type { AgentServerToClientEvents, PartyServerToClientEvents, SocketAck } from '../../../server/realtime/events';
export type AgentSocket = Socket<AgentServerToClientEvents, AgentClientToServerEvents>;
export type PartySocket = Socket<PartyServerToClientEvents, PartyClientToServerEvents>;

/**
 * The staff namespace: the login cookie authenticates, the server checks the Origin. The server ends
 * the connection when the sign-in behind it changed (signed out elsewhere, revoked, disabled, roles
 * changed): `recheck` then reads who is signed in now, and the socket connects again when it says so.
 */
export function agentSocket(recheck?: () => Promise<boolean>): AgentSocket {
  const socket: AgentSocket = io('/agent', { withCredentials: true, transports: ['websocket', 'polling'] });
  socket.on('disconnect', (reason) => {
    if (reason !== 'io server disconnect' || !recheck) return;
    recheck().then(
      (again) => {
        if (again) socket.connect();
      },
      () => undefined,
    );
  });
  return socket;
}

/** The borrower namespace: authenticated by the join link and the party token from the one-time code. */
export function partySocket(link: string, partyToken: string): PartySocket {
  return io('/party', { auth: { link, partyToken }, transports: ['websocket', 'polling'] });
}
