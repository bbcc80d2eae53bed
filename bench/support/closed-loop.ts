// A closed-loop HTTP load generator, run as its own process: one client per group of requests, each
// sending its next request only when the previous one was answered (an agent saving answer after
// answer), after an optional think time. Every client runs at once.
//   tsx bench/support/closed-loop.ts '<json ClosedLoopSpec>'   -> prints one JSON line (ClosedLoopReport)
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';

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
}

type Line = { group: number; method: 'PUT' | 'POST'; path: string; body: string; headers: Record<string, string> };

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length))) - 1] ?? Number.NaN;
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
  const agent = new Agent({ keepAlive: true, maxSockets: groups.size });
  const base = new URL(spec.url);
  const send = (line: Line) =>
    new Promise<number>((resolve, reject) => {
      const req = request({ host: base.hostname, port: base.port, method: line.method, path: line.path, headers: { ...line.headers, 'content-length': Buffer.byteLength(line.body) }, agent }, (res) => {
        res.resume();
        res.once('end', () => resolve(res.statusCode ?? 0));
        res.once('error', reject);
      });
      req.once('error', reject);
      req.end(line.body);
    });
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
          const status = await send(line);
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
  agent.destroy();
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
  };
}

process.stdout.write(`${JSON.stringify(await run(JSON.parse(process.argv[2] ?? '{}') as ClosedLoopSpec))}\n`);
