// A closed-loop HTTP load generator, run as its own process: one client per group of requests, each
// sending its next request only when the previous one was answered (an agent saving answer after
// answer), after an optional think time. Every client runs at once.
//   tsx bench/support/closed-loop.ts '<json ClosedLoopSpec>'   -> prints one JSON line (ClosedLoopReport)
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';

export interface ClosedLoopSpec {
  url: string;
  /** JSON lines of { group, method, path, body, headers }. */
  requestsFile: string;
  /** Requests each client sends (its group's lines in turn, again from the start when they run out). */
  perClient: number;
  /**
   * Mean pause between an acknowledgement and the client's next request (uniform in 0.5x-1.5x), and
   * each client's first request comes at a random moment within one such pause. 0: no pause at all.
   */
  thinkMs?: number;
  /**
   * Requests each client sends first, paced the same, without recording them (connections open,
   * code and queries warm, the clients' start spread out): only the steady state is measured.
   */
  warmup?: number;
}

export interface ClosedLoopReport {
  clients: number;
  requests: number;
  seconds: number;
  perSecond: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number; mean: number };
  statuses: Record<string, number>;
  errors: number;
  /** The load generator's own CPU over the whole run, per measured request. */
  cpuMsPerRequest: number;
}

type Line = { group: number; method: 'PUT' | 'POST'; path: string; body: string; headers: Record<string, string> };

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length))) - 1] ?? Number.NaN;
}

function serialise(line: Line, host: string): Buffer {
  const body = Buffer.from(line.body);
  const headers = Object.entries({ host, ...line.headers, 'content-length': String(body.length) }).map(([name, value]) => `${name}: ${value}\r\n`).join('');
  return Buffer.concat([Buffer.from(`${line.method} ${line.path} HTTP/1.1\r\n${headers}\r\n`), body]);
}

const HEAD_END = Buffer.from('\r\n\r\n');

/**
 * One keep-alive HTTP/1.1 connection sending one request at a time (an agent's browser tab): the
 * response's status line and Content-Length (or chunked ending) are all it reads. A closed
 * connection is opened again for the next request.
 */
class Connection {
  private socket: Socket | undefined;
  private buffer: Buffer = Buffer.alloc(0);
  private pending: { resolve(status: number): void; reject(error: Error): void } | undefined;

  constructor(
    private readonly host: string,
    private readonly port: number,
  ) {}

  send(request: Buffer): Promise<number> {
    const socket = (this.socket ??= this.open());
    return new Promise<number>((resolve, reject) => {
      this.pending = { resolve, reject };
      socket.write(request);
    });
  }

  close(): void {
    this.socket?.destroy();
  }

  private open(): Socket {
    const socket = connect({ host: this.host, port: this.port, noDelay: true });
    socket.on('data', (chunk: Buffer) => {
      this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
      this.parse();
    });
    const gone = (error?: Error) => {
      // A connection already let go of (the server said it would close it) is no longer this client's.
      if (this.socket !== socket) return;
      this.socket = undefined;
      this.buffer = Buffer.alloc(0);
      const pending = this.pending;
      this.pending = undefined;
      pending?.reject(error ?? new Error('connection closed'));
    };
    socket.on('error', gone);
    socket.on('close', () => gone());
    return socket;
  }

  private parse(): void {
    const headEnd = this.buffer.indexOf(HEAD_END);
    if (headEnd < 0) return;
    const head = this.buffer.subarray(0, headEnd).toString('latin1');
    const status = Number(head.slice(9, 12));
    const length = /\r\ncontent-length: *(\d+)/i.exec(head);
    let end: number;
    if (length) {
      end = headEnd + 4 + Number(length[1]);
      if (this.buffer.length < end) return;
    } else if (/\r\ntransfer-encoding: *chunked/i.test(head)) {
      const last = this.buffer.indexOf('\r\n0\r\n\r\n', headEnd);
      if (last < 0) return;
      end = last + 7;
    } else {
      end = headEnd + 4;
    }
    this.buffer = this.buffer.subarray(end);
    if (/\r\nconnection: *close/i.test(head)) {
      // The next request goes on a new connection.
      this.socket?.end();
      this.socket = undefined;
      this.buffer = Buffer.alloc(0);
    }
    const pending = this.pending;
    this.pending = undefined;
    pending?.resolve(status);
  }
}

async function run(spec: ClosedLoopSpec): Promise<ClosedLoopReport> {
  const groups = new Map<number, Line[]>();
  for (const text of readFileSync(spec.requestsFile, 'utf8').split('\n')) {
    if (!text) continue;
    const line = JSON.parse(text) as Line;
    const list = groups.get(line.group) ?? [];
    list.push(line);
    groups.set(line.group, list);
  }
  const base = new URL(spec.url);
  const host = base.hostname;
  const port = Number(base.port || 80);
  // Each request is serialised once, up front: the generator's work per request is one write and
  // reading one response, so that it takes as little of the machine as it can from the server.
  const wire = new Map<Line, Buffer>();
  for (const lines of groups.values()) for (const line of lines) wire.set(line, serialise(line, base.host));
  const clients = new Map([...groups.keys()].map((group) => [group, new Connection(host, port)]));
  const cpuBefore = process.cpuUsage();
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  let errors = 0;
  const warmup = spec.warmup ?? 0;
  let started: number | undefined;
  await Promise.all(
    [...groups.values()].map(async (lines) => {
      const think = spec.thinkMs ?? 0;
      if (think > 0) await pause(Math.random() * think);
      for (let i = 0; i < warmup + spec.perClient; i += 1) {
        if (think > 0 && i > 0) await pause(think * (0.5 + Math.random()));
        const line = lines[i % lines.length]!;
        const measured = i >= warmup;
        const t0 = performance.now();
        if (measured) started = Math.min(started ?? t0, t0);
        try {
          const status = await clients.get(line.group)!.send(wire.get(line)!);
          if (!measured) continue;
          latencies.push(performance.now() - t0);
          statuses[status] = (statuses[status] ?? 0) + 1;
        } catch {
          if (measured) errors += 1;
        }
      }
    }),
  );
  const seconds = (performance.now() - (started ?? performance.now())) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  for (const client of clients.values()) client.close();
  const sorted = latencies.sort((a, b) => a - b);
  const r = (n: number) => Number(n.toFixed(2));
  return {
    clients: groups.size,
    requests: latencies.length,
    seconds: r(seconds),
    perSecond: r(latencies.length / seconds),
    latencyMs: { p50: r(percentile(sorted, 50)), p90: r(percentile(sorted, 90)), p99: r(percentile(sorted, 99)), max: r(sorted.at(-1) ?? Number.NaN), mean: r(sorted.reduce((a, b) => a + b, 0) / Math.max(1, sorted.length)) },
    statuses,
    errors,
    cpuMsPerRequest: r((cpu.user + cpu.system) / 1000 / Math.max(1, latencies.length)),
  };
}

process.stdout.write(`${JSON.stringify(await run(JSON.parse(process.argv[2] ?? '{}') as ClosedLoopSpec))}\n`);
