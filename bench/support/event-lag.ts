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
  const lag = (stage: EventLagSample['stage']) => samples.filter((s) => s.stage === stage).map((s) => s.at - s.receivedAt);
  const applied = lag('applied');
  const delivered = lag('delivered');
  return {
    eventsStored: kinds.reduce((sum, k) => sum + Number(k.n), 0),
    eventsByKind: JSON.stringify(Object.fromEntries(kinds.map((k) => [k.event, Number(k.n)]))),
    eventLagAppliedP50Ms: round(percentile(applied, 50), 0),
    eventLagAppliedP99Ms: round(percentile(applied, 99), 0),
    eventLagDeliveredP50Ms: round(percentile(delivered, 50), 0),
    eventLagDeliveredP99Ms: round(percentile(delivered, 99), 0),
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
