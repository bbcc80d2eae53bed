// Drives bench/support/socket-clients.ts (socket.io clients in their own process) over IPC.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

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
  const child: ChildProcess = spawn(process.execPath, [...process.execArgv, file], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const next = <T>(type: string) =>
    new Promise<T>((resolve, reject) => {
      const onMessage = (message: { type: string; message?: string }) => {
        if (message.type === 'error') reject(new Error(message.message));
        else if (message.type === type) resolve(message as T);
        else return;
        child.off('message', onMessage);
      };
      child.on('message', onMessage);
    });
  return {
    pid: child.pid!,
    async connect(input) {
      const ready = next<{ connected: number }>('ready');
      child.send({ type: 'connect', ...input });
      return (await ready).connected;
    },
    async report() {
      const report = next<ClientsReport>('report');
      child.send({ type: 'report' });
      return report;
    },
    close: () => {
      if (child.connected) child.send({ type: 'close' });
    },
  };
}
