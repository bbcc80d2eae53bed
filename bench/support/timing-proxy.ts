// A transparent HTTP proxy in front of the LiveKit simulator that notes when each CreateSIPParticipant
// (a dial) arrives, and for which room: "the dial request reached LiveKit".
import { createServer, request, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { nowMs } from './stats.js';

export interface DialArrival {
  room: string;
  at: number;
}

export interface TimingProxy {
  url: string;
  dials: DialArrival[];
  stop(): Promise<void>;
}

const DIAL_PATH = '/twirp/livekit.SIP/CreateSIPParticipant';

function bodyOf(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.once('end', () => resolve(Buffer.concat(chunks)));
    req.once('error', reject);
  });
}

export async function startTimingProxy(target: string): Promise<TimingProxy> {
  const upstream = new URL(target);
  const dials: DialArrival[] = [];
  const server = createServer((req, res) => {
    const at = nowMs();
    bodyOf(req).then(
      (body) => {
        if (req.url === DIAL_PATH) {
          const parsed = JSON.parse(body.toString('utf8')) as { roomName?: string; room_name?: string };
          dials.push({ room: parsed.roomName ?? parsed.room_name ?? '', at });
        }
        const forward = request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers }, (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        });
        forward.once('error', () => {
          if (!res.headersSent) res.writeHead(502);
          res.end();
        });
        forward.end(body);
      },
      () => res.destroy(),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    dials,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
