// GET /metrics: the dashboard's figures for Prometheus. Gauges are computed from Postgres at scrape
// time (over the last 24 hours, plus live session counts), so every API node reports the same truth.
// Labels carry only enums (outcome, state): never a name, phone number, loan reference or id.
//
// Access: with METRICS_TOKEN set, a scraper sends "Authorization: Bearer <token>"; without it, only
// loopback clients (a sidecar or node exporter on the same host) are answered.
import { timingSafeEqual, createHash } from 'node:crypto';
import express, { type Request } from 'express';
import { Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { sqlAutocommit, type Db } from '../db/client.js';
import { build, first } from '../db/typed-sql.js';
import { AppError } from '../shared/errors.js';
import { ENDED_CATEGORIES, type OperationsMetrics } from './operations.service.js';
import type { EventLag } from './event-lag.js';

export const WINDOW_HOURS = 24;
export const EVENT_LOOP_SAMPLE_MS = 1_000;

export function metricsRegistry(db: Db, operations: OperationsMetrics, options: { eventLag?: EventLag; now?: () => Date } = {}): Registry {
  const now = options.now ?? (() => new Date());
  const registry = new Registry();
  if (options.eventLag) registry.registerMetric(options.eventLag.histogram);
  // The event-loop delay histogram samples with a timer: prom-client's default of every 10 ms woke an
  // idle node 100 times a second, most of its idle CPU (each wake-up costs a system call or two). Once a
  // second still shows a loop that is falling behind (a stall delays the sample in progress), and the
  // scrape-time lag gauge is unaffected.
  collectDefaultMetrics({ register: registry, prefix: 'facesign_', eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
  // One computation per scrape feeds every windowed gauge.
  let pending: Promise<Awaited<ReturnType<OperationsMetrics['figures']>>> | undefined;
  const figures = () =>
    (pending ??= (async () => {
      const end = now();
      const from = new Date(end.getTime() - WINDOW_HOURS * 3_600_000);
      try {
        // Two UTC days cover the window; the per-day split is not used here, only the totals.
        return await operations.figures({ from: from.toISOString().slice(0, 10), to: end.toISOString().slice(0, 10), timeZone: 'UTC' });
      } finally {
        setTimeout(() => (pending = undefined), 0);
      }
    })());

  new Gauge({
    name: 'facesign_sessions_ended',
    help: `Sessions that reached an end state in the current and previous UTC day, by outcome (COMPLETED: PASSED/FAILED) or end state`,
    labelNames: ['outcome'],
    registers: [registry],
    async collect() {
      const f = await figures();
      for (const category of ENDED_CATEGORIES) this.set({ outcome: category }, f.totals[category]);
    },
  });
  new Gauge({
    name: 'facesign_handle_time_seconds_avg',
    help: 'Average conversation length (recording start to attempt end) of attempts started in the current and previous UTC day',
    registers: [registry],
    async collect() {
      const f = await figures();
      if (f.handleTime.averageSeconds !== null) this.set(f.handleTime.averageSeconds);
      else this.reset();
    },
  });
  new Gauge({
    name: 'facesign_queue_wait_seconds_avg',
    help: 'Average wait of video borrowers in the waiting room until an agent joined (attempts started in the current and previous UTC day)',
    registers: [registry],
    async collect() {
      const f = await figures();
      if (f.queueWait.averageSeconds !== null) this.set(f.queueWait.averageSeconds);
      else this.reset();
    },
  });
  new Gauge({
    name: 'facesign_no_show_ratio',
    help: 'Video appointments the borrower missed, over all video appointments (current and previous UTC day)',
    registers: [registry],
    async collect() {
      const f = await figures();
      if (f.noShow.rate !== null) this.set(f.noShow.rate);
      else this.reset();
    },
  });
  new Gauge({
    name: 'facesign_dial_attempts',
    help: 'Call attempts started in the current and previous UTC day, by dial outcome',
    labelNames: ['outcome'],
    registers: [registry],
    async collect() {
      const f = await figures();
      for (const d of f.dialOutcomes) this.set({ outcome: d.outcome }, d.count);
    },
  });
  new Gauge({
    name: 'facesign_sessions',
    help: 'Sessions now in each state',
    labelNames: ['state'],
    registers: [registry],
    async collect() {
      const rows = await db.verificationSession.groupBy({ by: ['state'], _count: { _all: true } });
      this.reset();
      for (const row of rows) this.set({ state: row.state }, row._count._all);
    },
  });
  // Stored LiveKit events not applied yet, across all nodes: a backlog that grows is processing that
  // falls behind (the per-node lag histogram says by how much).
  let backlog: Promise<{ count: number; oldest: Date | null }> | undefined;
  const unprocessed = () =>
    (backlog ??= (async () => {
      try {
        const row = await first(
          sqlAutocommit(db),
          build
            .selectFrom('LiveKitEvent')
            .select((eb) => [eb.fn.countAll().as('count'), eb.fn.min<Date | null>('receivedAt').as('oldest')])
            .where('processedAt', 'is', null),
        );
        // count(*) is an int8, which comes back as a string.
        return { count: Number(row?.count ?? 0), oldest: row?.oldest ?? null };
      } finally {
        setTimeout(() => (backlog = undefined), 0);
      }
    })());
  new Gauge({
    name: 'facesign_livekit_events_unprocessed',
    help: 'LiveKit events stored but not applied yet (all nodes)',
    registers: [registry],
    async collect() {
      this.set((await unprocessed()).count);
    },
  });
  new Gauge({
    name: 'facesign_livekit_events_unprocessed_oldest_seconds',
    help: 'Age of the oldest LiveKit event stored but not applied yet (0 when none)',
    registers: [registry],
    async collect() {
      const { oldest } = await unprocessed();
      this.set(oldest ? Math.max(0, (now().getTime() - oldest.getTime()) / 1000) : 0);
    },
  });
  new Gauge({
    name: 'facesign_reviews_pending',
    help: 'Compliance reviews waiting for an auditor',
    registers: [registry],
    async collect() {
      this.set(await db.review.count({ where: { status: 'PENDING' } }));
    },
  });
  return registry;
}

/**
 * A worker-only node's /metrics: the lag of the LiveKit events it processed. Nothing else, and no
 * timers: the api nodes report the cluster's figures, and an idle worker must stay idle.
 */
export function workerMetricsRegistry(eventLag: EventLag): Registry {
  const registry = new Registry();
  registry.registerMetric(eventLag.histogram);
  return registry;
}

const digest = (s: string) => createHash('sha256').update(s).digest();

function isLoopback(req: Request): boolean {
  // The socket's own peer address: a forwarded header must not make a remote scraper look local.
  const address = req.socket.remoteAddress ?? '';
  return address === '127.0.0.1' || address === '::1' || address === '::ffff:127.0.0.1';
}

export function metricsRouter(registry: Registry, token: string | undefined): express.Router {
  const router = express.Router();
  router.get('/', async (req, res) => {
    if (token) {
      const sent = /^Bearer (.+)$/.exec(req.get('authorization') ?? '')?.[1];
      if (!sent) throw new AppError('UNAUTHENTICATED', 'Send the metrics token as "Authorization: Bearer <METRICS_TOKEN>"');
      if (!timingSafeEqual(digest(sent), digest(token))) throw new AppError('FORBIDDEN', 'The metrics token is wrong');
    } else if (!isLoopback(req)) {
      throw new AppError('FORBIDDEN', 'Without METRICS_TOKEN, /metrics answers loopback clients only');
    }
    const body = await registry.metrics();
    res.setHeader('Cache-Control', 'no-store');
    res.type(registry.contentType).send(body);
  });
  return router;
}
