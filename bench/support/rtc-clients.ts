// Drives bench/support/rtc-participants.ts (borrowers, agents and their LiveKit media in a process of
// their own) over IPC.
import { fileURLToPath } from 'node:url';
import type { MediaSettings, ParentMessage, ReceivedMedia, SessionTimes } from './rtc-participants.js';
import { spawnIpcChild } from './ipc-child.js';

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
  const { child, next, ask: askAny, stop } = spawnIpcChild(file, "the rtc participants' process", { ...process.env, NODE_ENV: 'production' });
  const ask = <T>(message: ParentMessage, answer: string) => askAny<T>(message, answer);
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
    close: () => stop({ type: 'close' }),
  };
}
