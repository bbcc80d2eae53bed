// Drives bench/support/rtc-participants.ts (borrowers, agents and their LiveKit media in a process of
// their own) over IPC.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { MediaSettings, ParentMessage, ReceivedMedia, SessionTimes } from './rtc-participants.js';

export type { MediaSettings, ReceivedMedia, SessionTimes };

export interface PairTimes {
  started: number;
  joined: number;
  flowing: number;
}

export interface RtcClients {
  pid: number;
  /** The SMS gateway stand-in's URL, for facesign's NOTIFIER_URL. */
  smsUrl: string;
  connectAgents(url: string, agents: { cookie: string; csrfToken: string }[]): Promise<number>;
  /** Creates the sessions through the LOS API and takes each through to media flowing both ways. */
  sessions(input: Omit<Extract<ParentMessage, { type: 'sessions' }>, 'type'>): Promise<{ sessions: SessionTimes[]; failures: string[]; offerFailures: string[] }>;
  /** Joins each pair of tokens to its room (the baseline: no facesign). */
  pairs(input: Omit<Extract<ParentMessage, { type: 'pairs' }>, 'type'>): Promise<{ pairs: PairTimes[]; failures: string[] }>;
  /** What every participant has received so far (WebRTC inbound stats, summed). */
  received(): Promise<ReceivedMedia>;
  wrapUp(url: string): Promise<{ sessions: SessionTimes[]; failures: string[] }>;
  leave(): Promise<void>;
  close(): Promise<void>;
}

export async function startRtcClients(): Promise<RtcClients> {
  const file = fileURLToPath(new URL('./rtc-participants.ts', import.meta.url));
  // NODE_ENV=production: rtc-node logs at info instead of debug (a line per connection otherwise).
  const child: ChildProcess = spawn(process.execPath, [...process.execArgv, file], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env: { ...process.env, NODE_ENV: 'production' } });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const next = <T>(type: string) =>
    new Promise<T>((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`the rtc participants' process exited (${code}) while the bench waited for "${type}"`));
      const onMessage = (message: { type: string; message?: string }) => {
        if (message.type === 'error') reject(new Error(message.message));
        else if (message.type === type) resolve(message as T);
        else return;
        child.off('message', onMessage);
        child.off('exit', onExit);
      };
      child.on('message', onMessage);
      child.once('exit', onExit);
    });
  const ask = <T>(message: ParentMessage, answer: string) => {
    const reply = next<T>(answer);
    child.send(message);
    return reply;
  };
  const { smsUrl } = await next<{ smsUrl: string }>('ready');
  return {
    pid: child.pid!,
    smsUrl,
    connectAgents: async (url, agents) => (await ask<{ connected: number }>({ type: 'agents', url, agents }, 'agents-ready')).connected,
    sessions: (input) => ask({ type: 'sessions', ...input }, 'up'),
    pairs: (input) => ask({ type: 'pairs', ...input }, 'up'),
    received: async () => (await ask<{ media: ReceivedMedia }>({ type: 'received' }, 'received')).media,
    wrapUp: (url) => ask({ type: 'wrap-up', url }, 'wrapped-up'),
    leave: async () => {
      await ask({ type: 'leave' }, 'left');
    },
    async close() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.send({ type: 'close' });
      const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(killer);
    },
  };
}
