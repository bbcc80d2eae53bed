// A loopback HTTP proxy's plumbing, shared by the bench's proxies in front of LiveKit (the timing
// proxy and the egress answerer): read a request's body, pass a request on to the upstream unchanged,
// and listen on a free loopback port.
import { request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export function bodyOf(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.once('end', () => resolve(Buffer.concat(chunks)));
    req.once('error', reject);
  });
}

/** Sends the request (with the body already read) to `upstream` and streams the answer back; 502 if it cannot. */
export function forward(upstream: URL, req: IncomingMessage, res: ServerResponse, body: Buffer): void {
  const out = request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers }, (up) => {
    res.writeHead(up.statusCode ?? 502, up.headers);
    up.pipe(res);
  });
  out.once('error', () => {
    if (!res.headersSent) res.writeHead(502);
    res.end();
  });
  out.end(body);
}

/** Listens on a free loopback port; resolves with the server's URL. */
export async function listenOnLoopback(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}
