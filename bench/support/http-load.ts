// The HTTP load generator, run as its own process so that it does not share the server's event loop:
//   tsx bench/support/http-load.ts '<json LoadSpec>'
// Prints one JSON line (LoadReport). Requests are taken in turn from a JSON-lines file of
// { body, headers } (e.g. pre-signed webhooks), or the same body is sent every time.
import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';

export interface LoadSpec {
  url: string;
  path: string;
  connections: number;
  durationSeconds: number;
  /**
   * JSON lines of { body, headers, method?, path?, group? }, used in turn (then again from the start).
   * With `sticky`, connection i only sends the lines of group i, in turn (one client per connection).
   */
  requestsFile?: string;
  sticky?: boolean;
  /** Stop after this many requests instead of after the duration. */
  amount?: number;
  method?: 'POST' | 'PUT';
  body?: string;
  headers?: Record<string, string>;
}

export interface LoadReport {
  requests: number;
  durationSeconds: number;
  perSecond: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number; mean: number };
  non2xx: number;
  errors: number;
  timeouts: number;
}

async function run(spec: LoadSpec): Promise<LoadReport> {
  type Item = { body: string; headers: Record<string, string>; method?: 'POST' | 'PUT'; path?: string; group?: number };
  const pool = spec.requestsFile ? readFileSync(spec.requestsFile, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as Item) : [];
  const groups = new Map<number, Item[]>();
  for (const item of pool) {
    const list = groups.get(item.group ?? 0) ?? [];
    list.push(item);
    groups.set(item.group ?? 0, list);
  }
  let next = 0;
  let connectionsSeen = 0;
  const result = await autocannon({
    url: spec.url,
    connections: spec.connections,
    ...(spec.amount ? { amount: spec.amount } : { duration: spec.durationSeconds }),
    requests: [
      {
        method: spec.method ?? 'POST',
        path: spec.path,
        setupRequest: (request, ctx) => {
          const context = ctx as { group?: number; turn?: number };
          if (pool.length === 0) return { ...request, body: spec.body ?? '', headers: { ...spec.headers } };
          let item: Item;
          if (spec.sticky) {
            context.group ??= connectionsSeen++ % groups.size;
            const mine = groups.get(context.group)!;
            item = mine[(context.turn ?? 0) % mine.length]!;
            context.turn = (context.turn ?? 0) + 1;
          } else {
            item = pool[next % pool.length]!;
            next += 1;
          }
          return { ...request, body: item.body, headers: item.headers, ...(item.method ? { method: item.method } : {}), ...(item.path ? { path: item.path } : {}) };
        },
      },
    ],
  });
  const seconds = result.duration;
  return {
    requests: result.requests.total,
    durationSeconds: seconds,
    perSecond: result.requests.total / seconds,
    latencyMs: { p50: result.latency.p50, p90: result.latency.p90, p99: result.latency.p99, max: result.latency.max, mean: result.latency.average },
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
  };
}

const spec = JSON.parse(process.argv[2] ?? '{}') as LoadSpec;
process.stdout.write(`${JSON.stringify(await run(spec))}\n`);
