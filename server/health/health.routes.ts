// Liveness and readiness. /readyz reports every dependency with its status and latency and answers
// 503 when a required one is down; error details are reduced to a code so nothing internal leaks.
// In production the details (latencies, versions, who enforces retention) are for operators only:
// scrapers with the metrics token and clients on the same host; everyone else, load balancers
// included, learns the overall status from the body and the status code.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Request } from 'express';
import { z } from 'zod';
import { defineRoute, type RouteDefinition } from '../http/route.js';

export interface DependencyCheck {
  name: string;
  required: boolean;
  /** Undefined when the dependency is not configured here. */
  check: ((signal: AbortSignal) => Promise<void>) | undefined;
  /** Facts worth showing beside the status (e.g. who enforces retention); no secrets, no hosts. */
  info?: () => Promise<Record<string, string | null>>;
}

const checkResult = z.object({
  status: z.enum(['up', 'down', 'unconfigured']),
  required: z.boolean(),
  latencyMs: z.number().nullable(),
  error: z.string().optional(),
  info: z.record(z.string(), z.string().nullable()).optional(),
});
const readiness = z
  .object({
    status: z.enum(['ready', 'not_ready']),
    checks: z.record(z.string(), checkResult).optional().meta({ description: 'Each dependency; in production only with the metrics token or from loopback' }),
  })
  .meta({ id: 'Readiness' });

export interface ReadinessDetailPolicy {
  env: 'development' | 'test' | 'production';
  /** METRICS_TOKEN: scrapers that may read /metrics may read the details too. */
  metricsToken: string | undefined;
}

export interface ReadinessCaller {
  authorization: string | undefined;
  /** The TCP peer's address, whatever a proxy header claims. */
  peerAddress: string | undefined;
  /** Whether the request carries X-Forwarded-For or Forwarded: a proxy on this host relays someone else. */
  forwarded: boolean;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);
const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * Whether this caller sees the dependency details. Outside production, always. In production, with
 * the metrics token, or when connected straight from loopback (an operator's curl, a sidecar): a
 * loopback connection that carries a forwarding header is a reverse proxy on this host relaying an
 * outside client, so it counts as outside.
 */
export function showsReadinessDetails(policy: ReadinessDetailPolicy, caller: ReadinessCaller): boolean {
  if (policy.env !== 'production') return true;
  const sent = /^Bearer (.+)$/.exec(caller.authorization ?? '')?.[1];
  if (policy.metricsToken && sent !== undefined && timingSafeEqual(digest(sent), digest(policy.metricsToken))) return true;
  return caller.peerAddress !== undefined && LOOPBACK.has(caller.peerAddress) && !caller.forwarded;
}

function callerOf(req: Request): ReadinessCaller {
  return {
    authorization: req.get('authorization'),
    peerAddress: req.socket.remoteAddress,
    forwarded: req.get('x-forwarded-for') !== undefined || req.get('forwarded') !== undefined,
  };
}

function errorCode(error: unknown): string {
  const e = error as { code?: unknown; name?: unknown; $metadata?: { httpStatusCode?: number } };
  if (typeof e?.code === 'string' && /^[A-Z0-9_]+$/.test(e.code)) return e.code;
  if (e?.$metadata?.httpStatusCode) return `HTTP_${e.$metadata.httpStatusCode}`;
  if (typeof e?.name === 'string') return e.name;
  return 'ERROR';
}

export async function runChecks(checks: DependencyCheck[], timeoutMs: number) {
  const results = await Promise.all(
    checks.map(async (c) => {
      if (!c.check) return [c.name, { status: 'unconfigured' as const, required: c.required, latencyMs: null }] as const;
      const started = performance.now();
      const controller = new AbortController();
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          c.check(controller.signal),
          new Promise((_, reject) => {
            timer = setTimeout(() => {
              controller.abort();
              reject(Object.assign(new Error('timeout'), { code: 'TIMEOUT' }));
            }, timeoutMs);
          }),
        ]);
        const info = c.info ? await c.info() : undefined;
        return [c.name, { status: 'up' as const, required: c.required, latencyMs: Math.round(performance.now() - started), ...(info ? { info } : {}) }] as const;
      } catch (error) {
        return [c.name, { status: 'down' as const, required: c.required, latencyMs: Math.round(performance.now() - started), error: errorCode(error) }] as const;
      } finally {
        clearTimeout(timer);
      }
    }),
  );
  const checksOut = Object.fromEntries(results);
  const ready = results.every(([, r]) => !r.required || r.status === 'up');
  return { status: ready ? ('ready' as const) : ('not_ready' as const), checks: checksOut };
}

export function healthRoutes(checks: DependencyCheck[], policy: ReadinessDetailPolicy, timeoutMs = 2000): RouteDefinition[] {
  return [
    defineRoute({
      method: 'get',
      path: '/healthz',
      summary: 'Liveness: the process is up',
      tags: ['health'],
      access: 'public',
      responses: { 200: { description: 'Alive', schema: z.object({ status: z.literal('ok') }) } },
      async handler() {
        return { status: 200, body: { status: 'ok' } };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/readyz',
      summary: 'Readiness: the overall status; every dependency with status and latency outside production, or in production with the metrics token or from loopback',
      tags: ['health'],
      access: 'public',
      responses: {
        200: { description: 'Ready', schema: readiness },
        503: { description: 'A required dependency is down', schema: readiness },
      },
      async handler({ req }) {
        const result = await runChecks(checks, timeoutMs);
        const body = showsReadinessDetails(policy, callerOf(req)) ? result : { status: result.status };
        return { status: result.status === 'ready' ? 200 : 503, body, headers: { 'Cache-Control': 'no-store' } };
      },
    }),
  ];
}
