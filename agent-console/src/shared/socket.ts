// Live state over socket.io. Events are thin (ids, states, versions); pages refetch details over HTTP.
import { io, type Socket } from 'socket.io-client';

/**
 * The staff namespace: the login cookie authenticates, the server checks the Origin. The server ends
 * the connection when the sign-in behind it changed (signed out elsewhere, revoked, disabled, roles
 * changed): `recheck` then reads who is signed in now, and the socket connects again when it says so.
 */
export function agentSocket(recheck?: () => Promise<boolean>): Socket {
  const socket = io('/agent', { withCredentials: true, transports: ['websocket', 'polling'] });
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
export function partySocket(link: string, partyToken: string): Socket {
  return io('/party', { auth: { link, partyToken }, transports: ['websocket', 'polling'] });
}
