// LiveKit event lag in a benchmark: every event's time from its webhook's arrival to its change
// applied and to the socket events it caused (the samples facesign's own /metrics histogram takes),
// and the backlog — events stored but not applied — at a given moment, from the stored events.
import type { Facesign } from '../../server/main.js';
import type { EventLagSample } from '../../server/metrics/event-lag.js';
import { nowMs, percentile, round, sleep } from './stats.js';

export interface EventLagReport {
  eventsStored: number;
  /** The stored events by kind (JSON), to tell what the processing went through. */
  eventsByKind: string;
  /** Arrival to the event stored and its job queued, on the node that took the webhook (the intake). */
  eventLagQueuedP50Ms: number;
  eventLagQueuedP99Ms: number;
  /** Queued to taken, per event: the wait for a worker once queued. */
  eventWaitForWorkerP50Ms: number;
  eventWaitForWorkerP99Ms: number;
  /** Arrival to a worker taking the event off the queue: the intake and the wait for a worker. */
  eventLagTakenP50Ms: number;
  eventLagTakenP99Ms: number;
  /** Taken to applied, per event: the work of applying it (reads, the pool, the transaction). */
  eventApplyP50Ms: number;
  eventApplyP99Ms: number;
  eventLagAppliedP50Ms: number;
  eventLagAppliedP99Ms: number;
  eventLagDeliveredP50Ms: number;
  eventLagDeliveredP99Ms: number;
  /**
   * At `at`: the events that had arrived and were not applied, those of them that had waited longer
   * than the 1 s lag target (the backlog: the rest are in flight), and all that had arrived.
   */
  eventsUnappliedAtLastDial: number;
  eventBacklogAtLastDial: number;
  eventsStoredAtLastDial: number;
  /** From `at` until every stored event was applied (-1: not within the time allowed). */
  eventDrainSeconds: number;
}

export const LAG_TARGET_MS = 1000;

export function watchEventLag(facesign: Facesign): { samples: EventLagSample[]; stop(): void } {
  const samples: EventLagSample[] = [];
  const stop = facesign.eventLag.listen((sample) => samples.push(sample));
  return { samples, stop };
}

/** Waits (up to `drainTimeoutMs`) for every stored event to be applied, then measures. */
export async function eventLagReport(facesign: Facesign, samples: readonly EventLagSample[], at: number, drainTimeoutMs: number): Promise<EventLagReport> {
  const db = facesign.db;
  const atDate = new Date(at);
  const targetAgo = new Date(at - LAG_TARGET_MS);
  const [moment] = await db.$queryRaw<[{ stored: bigint; unapplied: bigint; backlog: bigint }]>`
    SELECT count(*) AS "stored",
      count(*) FILTER (WHERE "processedAt" IS NULL OR "processedAt" > ${atDate}) AS "unapplied",
      count(*) FILTER (WHERE ("processedAt" IS NULL OR "processedAt" > ${atDate}) AND "receivedAt" < ${targetAgo}) AS "backlog"
    FROM "LiveKitEvent" WHERE "receivedAt" <= ${atDate}`;
  let drainSeconds = -1;
  for (const deadline = nowMs() + drainTimeoutMs; nowMs() < deadline; ) {
    const [open] = await db.$queryRaw<[{ n: bigint }]>`SELECT count(*) AS "n" FROM "LiveKitEvent" WHERE "processedAt" IS NULL`;
    if (open.n === 0n) {
      drainSeconds = round(Math.max(0, nowMs() - at) / 1000, 1);
      break;
    }
    await sleep(250);
  }
  const kinds = await db.$queryRaw<{ event: string; n: bigint }[]>`SELECT "event", count(*) AS "n" FROM "LiveKitEvent" GROUP BY "event" ORDER BY 2 DESC`;
  /** Each event's time from its arrival to the end of `stage`. */
  const lag = (stage: EventLagSample['stage']) => samples.filter((s) => s.stage === stage).map((s) => s.at - s.receivedAt);
  const firstAt = (stage: EventLagSample['stage']) => {
    const at = new Map<string, number>();
    for (const s of samples) if (s.stage === stage && !at.has(s.eventId)) at.set(s.eventId, s.at);
    return at;
  };
  /** Per event, from the end of one stage to the end of the next. */
  const between = (from: EventLagSample['stage'], to: EventLagSample['stage']) => {
    const fromAt = firstAt(from);
    return samples.flatMap((s) => (s.stage === to && fromAt.has(s.eventId) ? [s.at - fromAt.get(s.eventId)!] : []));
  };
  /** p50 and p99 of `values` as `<name>P50Ms` and `<name>P99Ms`, whole milliseconds. */
  const p50p99 = <N extends string>(name: N, values: number[]) =>
    ({ [`${name}P50Ms`]: round(percentile(values, 50), 0), [`${name}P99Ms`]: round(percentile(values, 99), 0) }) as Record<`${N}P50Ms` | `${N}P99Ms`, number>;
  return {
    eventsStored: kinds.reduce((sum, k) => sum + Number(k.n), 0),
    eventsByKind: JSON.stringify(Object.fromEntries(kinds.map((k) => [k.event, Number(k.n)]))),
    ...p50p99('eventLagQueued', lag('queued')),
    ...p50p99('eventWaitForWorker', between('queued', 'taken')),
    ...p50p99('eventLagTaken', lag('taken')),
    ...p50p99('eventApply', between('taken', 'applied')),
    ...p50p99('eventLagApplied', lag('applied')),
    ...p50p99('eventLagDelivered', lag('delivered')),
    eventsUnappliedAtLastDial: Number(moment.unapplied),
    eventBacklogAtLastDial: Number(moment.backlog),
    eventsStoredAtLastDial: Number(moment.stored),
    eventDrainSeconds: drainSeconds,
  };
}

/** The event-lag target: p99 to applied and to delivered under 1 s, nothing queued at the last dial. */
export function eventLagMet(report: EventLagReport): boolean {
  return report.eventLagAppliedP99Ms < LAG_TARGET_MS && (Number.isNaN(report.eventLagDeliveredP99Ms) || report.eventLagDeliveredP99Ms < LAG_TARGET_MS) && report.eventBacklogAtLastDial === 0;
}

/**
 * Where a missed lag target's time went, by the largest of its parts at p99: the intake (storing the
 * webhook's event and queueing it, on the node that took the webhook: its pool and its share of the
 * cores), the wait for a worker once queued (worker capacity: cores for the worker nodes, more of them),
 * or applying it once taken (the database and the pool). Without intake samples (the api node's were not
 * collected) the first two are one: arrival to taken.
 */
export function eventLagWhereItWent(report: EventLagReport): string {
  const intake = Number.isNaN(report.eventLagQueuedP99Ms) ? undefined : report.eventLagQueuedP99Ms;
  const parts = [
    ...(intake === undefined
      ? [{ name: 'arrival to taken by a worker', p50: report.eventLagTakenP50Ms, p99: report.eventLagTakenP99Ms, moves: 'the intake or the wait for a worker (collect the intake node\'s samples to tell which)' }]
      : [
          { name: 'intake (arrival to stored and queued)', p50: report.eventLagQueuedP50Ms, p99: intake, moves: 'the node that takes the webhooks: its share of the cores and its pool (the intake stores one batch at a time)' },
          { name: 'wait for a worker (queued to taken)', p50: report.eventWaitForWorkerP50Ms, p99: report.eventWaitForWorkerP99Ms, moves: 'worker capacity: a core of its own for each worker node, or another worker node' },
        ]),
    { name: 'applying (taken to applied)', p50: report.eventApplyP50Ms, p99: report.eventApplyP99Ms, moves: 'the database: pool checkouts and PostgreSQL\'s share of the cores' },
  ];
  const largest = [...parts].sort((a, b) => b.p99 - a.p99)[0]!;
  return `event lag p99 ${report.eventLagAppliedP99Ms} ms to applied, by part (p50/p99): ${parts.map((p) => `${p.name} ${p.p50}/${p.p99} ms`).join(', ')}; the largest is ${largest.name}, so what moves it is ${largest.moves}`;
}
