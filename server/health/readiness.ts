// Liveness and readiness. /readyz reports every dependency with its status and latency and answers
// 503 when a required one is down; error details are reduced to a code so nothing internal leaks.
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
const readiness = z.object({ status: z.enum(['ready', 'not_ready']), checks: z.record(z.string(), checkResult) }).meta({ id: 'Readiness' });

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

export function healthRoutes(checks: DependencyCheck[], timeoutMs = 2000): RouteDefinition[] {
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
      summary: 'Readiness: every dependency with status and latency',
      tags: ['health'],
      access: 'public',
      responses: {
        200: { description: 'Ready', schema: readiness },
        503: { description: 'A required dependency is down', schema: readiness },
      },
      async handler() {
        const result = await runChecks(checks, timeoutMs);
        return { status: result.status === 'ready' ? 200 : 503, body: result, headers: { 'Cache-Control': 'no-store' } };
      },
    }),
  ];
}
