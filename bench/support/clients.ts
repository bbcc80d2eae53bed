// Drives bench/support/socket-clients.ts (socket.io clients in their own process) over IPC.
import { fileURLToPath } from 'node:url';
import { spawnIpcChild } from './ipc-child.js';

export interface ClientsReport {
  received: Record<string, number[]>;
  accepted?: { attempted: number; ok: number; errors: number; refused: Record<string, number> };
}

export interface Clients {
  connect(input: { url: string; namespace: string; count: number; cookies?: string[]; event: string; agents?: { cookie: string; csrfToken: string }[] }): Promise<number>;
  report(): Promise<ClientsReport>;
  close(): void;
  /** The clients' process. */
  pid: number;
}

export function startClients(): Clients {
  const file = fileURLToPath(new URL('./socket-clients.ts', import.meta.url));
  const { child, ask } = spawnIpcChild(file, 'the socket clients\' process');
  return {
    pid: child.pid!,
    connect: async (input) => (await ask<{ connected: number }>({ type: 'connect', ...input }, 'ready')).connected,
    report: () => ask<ClientsReport>({ type: 'report' }, 'report'),
    close: () => {
      if (child.connected) child.send({ type: 'close' });
    },
  };
}
