// A local HTTP endpoint that records what it receives (LOS webhooks, SMS gateway calls) and can be
// told to fail. Loopback only.
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export class HttpSink {
  readonly received: Received[] = [];
  url = '';
  /** Answer the next N requests with this status. */
  failNext = 0;
  failStatus = 500;
  private waiters: { predicate: () => boolean; resolve: () => void }[] = [];
  private readonly server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (this.failNext > 0) {
        this.failNext -= 1;
        res.writeHead(this.failStatus).end('failing on purpose');
        return;
      }
      this.received.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
      this.waiters = this.waiters.filter((w) => (w.predicate() ? (w.resolve(), false) : true));
    });
  });

  static async start(): Promise<HttpSink> {
    const sink = new HttpSink();
    await new Promise<void>((r) => sink.server.listen(0, '127.0.0.1', () => r()));
    sink.url = `http://127.0.0.1:${(sink.server.address() as AddressInfo).port}`;
    return sink;
  }

  /** Resolves once a received request satisfies `predicate` (the test timeout bounds the wait). */
  until(predicate: (r: Received) => boolean): Promise<Received> {
    const find = () => this.received.find(predicate);
    const found = find();
    if (found) return Promise.resolve(found);
    return new Promise((resolve) => this.waiters.push({ predicate: () => Boolean(find()), resolve: () => resolve(find()!) }));
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}
