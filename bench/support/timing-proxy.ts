// A transparent HTTP proxy in front of the LiveKit simulator that notes when each CreateSIPParticipant
// (a dial) arrives, and for which room: "the dial request reached LiveKit". It runs in a process of
// its own (like the simulator), so that forwarding facesign's LiveKit calls is not counted as
// facesign's work; the bench reads what it noted over `GET /_timing/dials`.
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import { startReadyChild } from './child.js';
import { bodyOf, forward, listenOnLoopback } from './proxy.js';
import { nowMs } from './stats.js';

export interface DialArrival {
  room: string;
  /** Wall-clock milliseconds (comparable across processes: see `nowMs`). */
  at: number;
}

export interface TimingProxy {
  url: string;
  /** How many different rooms have been dialled so far (cheap to poll). */
  roomsDialled(): Promise<number>;
  dials(): Promise<DialArrival[]>;
  pid: number;
  stop(): Promise<void>;
}

const DIAL_PATH = '/twirp/livekit.SIP/CreateSIPParticipant';
const DIALS_PATH = '/_timing/dials';
const ROOMS_PATH = '/_timing/rooms';


async function serve(target: string): Promise<string> {
  const upstream = new URL(target);
  const dials: DialArrival[] = [];
  const rooms = new Set<string>();
  const server = createServer((req, res) => {
    const at = nowMs();
    if (req.url === DIALS_PATH || req.url === ROOMS_PATH) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(req.url === DIALS_PATH ? dials : rooms.size));
      return;
    }
    bodyOf(req).then(
      (body) => {
        if (req.url === DIAL_PATH) {
          const parsed = JSON.parse(body.toString('utf8')) as { roomName?: string; room_name?: string };
          const room = parsed.roomName ?? parsed.room_name ?? '';
          dials.push({ room, at });
          rooms.add(room);
        }
        forward(upstream, req, res, body);
      },
      () => res.destroy(),
    );
  });
  return listenOnLoopback(server);
}

/** Starts the proxy in a child process in front of `target` (the simulator's URL). */
export async function startTimingProxy(target: string): Promise<TimingProxy> {
  const child = await startReadyChild<{ url: string }>('bench/support/timing-proxy.ts', ['--target', target]);
  const { url } = child.ready;
  return {
    url,
    pid: child.pid,
    async roomsDialled() {
      return (await (await fetch(`${url}${ROOMS_PATH}`)).json()) as number;
    },
    async dials() {
      return (await (await fetch(`${url}${DIALS_PATH}`)).json()) as DialArrival[];
    },
    stop: () => child.stop(),
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const target = process.argv[process.argv.indexOf('--target') + 1];
  if (!target) throw new Error('--target <simulator url> is required');
  const url = await serve(target);
  console.log(JSON.stringify({ url }));
}
