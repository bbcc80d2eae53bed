// A proxy in front of the real livekit-server that answers LiveKit Egress's API itself, at once, and
// passes every other call through. Without an egress service livekit-server holds
// StartRoomCompositeEgress until the SDK gives up (10 s), and the recording start of every answered call
// would stand for a broken egress, not for the one a bank runs. The answerer replies as an egress that
// accepted the request (EGRESS_STARTING), records nothing and sends no egress webhooks, so the dispatch
// bench measures placing calls, not recording them. It runs in a process of its own so its work is not
// counted as facesign's.
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import { startReadyChild } from './child.js';
import { bodyOf, forward, listenOnLoopback } from './proxy.js';

export interface EgressAnswerer {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

const EGRESS_PREFIX = '/twirp/livekit.Egress/';


function egressAnswer(method: string, body: Record<string, unknown>, n: number): unknown {
  const egressId = typeof body.egressId === 'string' ? body.egressId : `EG_answerer${n.toString(36)}`;
  const roomName = typeof body.roomName === 'string' ? body.roomName : '';
  switch (method) {
    case 'StopEgress':
      return { egressId, roomName, status: 'EGRESS_ENDING' };
    case 'ListEgress':
      return { items: [] };
    default:
      return { egressId, roomName, status: 'EGRESS_STARTING', startedAt: String(BigInt(Date.now()) * 1_000_000n) };
  }
}

async function serve(target: string): Promise<string> {
  const upstream = new URL(target);
  let started = 0;
  const server = createServer((req, res) => {
    bodyOf(req).then(
      (body) => {
        if (req.url?.startsWith(EGRESS_PREFIX)) {
          started += 1;
          const parsed = body.length > 0 ? (JSON.parse(body.toString('utf8')) as Record<string, unknown>) : {};
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify(egressAnswer(req.url.slice(EGRESS_PREFIX.length), parsed, started)));
          return;
        }
        forward(upstream, req, res, body);
      },
      () => res.destroy(),
    );
  });
  return listenOnLoopback(server);
}

/** Starts the answerer in a child process in front of `target` (livekit-server's URL). */
export async function startEgressAnswerer(target: string): Promise<EgressAnswerer> {
  const child = await startReadyChild<{ url: string }>('bench/support/egress-answerer.ts', ['--target', target]);
  return { url: child.ready.url, pid: child.pid, stop: () => child.stop() };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const target = process.argv[process.argv.indexOf('--target') + 1];
  if (!target) throw new Error('--target <livekit-server url> is required');
  const url = await serve(target);
  console.log(JSON.stringify({ url }));
}
