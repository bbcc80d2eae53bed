// LiveKit webhooks in two steps. Intake verifies the signature, stores the event once (deduped on
// LiveKit's event id) and enqueues it, answering fast. Processing claims the stored event and
// applies it to the domain in one transaction, so a re-delivered job changes nothing twice.
import { WebhookEvent, type WebhookReceiver } from 'livekit-server-sdk';
import type { Db, Tx } from '../db/client.js';
import type { Logger } from '../logging.js';
import { AppError } from '../http/errors.js';
import type { JobQueues } from '../jobs/queues.js';
import { MicroBatch } from '../db/micro-batch.js';
import { appendAudit } from '../audit/audit.service.js';
import { applyEgressObservation, type EgressApplication } from '../../recordings/recording-lifecycle.js';
import { attemptIdFromRoom, roleOfIdentity } from './identities.js';
import { observeEgress, observeParticipant } from './observations.js';
import { isPresent, mergeParticipant } from './participants.js';

/** What changed, for whoever drives sessions; emitted only after the change committed. */
export type LiveKitSignal =
  | { kind: 'participant'; attemptId: string; identity: string; role: string; present: boolean; sipCallStatus: string | null }
  | { kind: 'room-finished'; attemptId: string }
  | { kind: 'recording'; recordingId: string; attemptId: string; state: string };

export type SignalListener = (signals: LiveKitSignal[]) => Promise<void>;

/** Thrown when an event refers to something not committed yet; the job retries with backoff. */
export class RetryLater extends Error {}

export const eventJobId = (eventId: string) => `lk-${eventId.replace(/[^A-Za-z0-9_-]/g, '_')}`;

interface InboxRow {
  id: string;
  event: string;
  roomName: string | null;
  egressId: string | null;
  occurredAt: Date;
  /** The webhook's JSON text. */
  body: string;
}

export class LiveKitEventIntake {
  /** Concurrent webhooks share one insert and one enqueue round trip; each is answered after both. */
  private readonly inbox = new MicroBatch<InboxRow, { duplicate: boolean }>((rows) => this.store(rows), { maxBatch: 200, maxInFlight: 4 });

  constructor(
    private readonly db: Db,
    private readonly queues: JobQueues,
    private readonly receiver: WebhookReceiver,
    private readonly log: Logger,
  ) {}

  async receive(rawBody: string, authorization: string | undefined): Promise<{ duplicate: boolean }> {
    let event: WebhookEvent;
    try {
      event = await this.receiver.receive(rawBody, authorization);
    } catch (error) {
      this.log.warn({ reason: (error as Error).message }, 'rejected a LiveKit webhook');
      throw new AppError('WEBHOOK_SIGNATURE_INVALID', 'The webhook signature, body hash or expiry is not valid');
    }
    if (!event.id || !event.event) throw new AppError('VALIDATION_FAILED', 'The webhook has no event id or name');
    return this.inbox.submit({
      id: event.id,
      event: event.event,
      roomName: event.room?.name || event.egressInfo?.roomName || null,
      egressId: event.egressInfo?.egressId || null,
      occurredAt: new Date(Number(event.createdAt) * 1000 || Date.now()),
      // Exactly what LiveKit sent: the verified bytes, stored as jsonb.
      body: rawBody,
    });
  }

  /** Stores a batch of events once each, then queues every one that is not processed yet. */
  private async store(rows: InboxRow[]): Promise<{ duplicate: boolean }[]> {
    // One insert says which events are new; the same event twice in one batch is new only once.
    const firsts = new Map<string, InboxRow>();
    for (const row of rows) if (!firsts.has(row.id)) firsts.set(row.id, row);
    // In id order: LiveKit posts each event to every node, and two nodes inserting the same events in
    // different orders would deadlock on each other's keys.
    // Arrays keep the statement's shape the same whatever the batch size, so it is planned once.
    const fresh = [...firsts.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const stored = await this.db.$queryRaw<{ id: string }[]>`
      INSERT INTO "LiveKitEvent" ("id", "event", "roomName", "egressId", "occurredAt", "body")
      SELECT * FROM unnest(${fresh.map((r) => r.id)}::text[], ${fresh.map((r) => r.event)}::text[], ${fresh.map((r) => r.roomName)}::text[],
        ${fresh.map((r) => r.egressId)}::text[], ${fresh.map((r) => r.occurredAt.toISOString())}::timestamptz[], ${fresh.map((r) => r.body)}::jsonb[])
      ON CONFLICT ("id") DO NOTHING
      RETURNING "id"`;
    const inserted = new Set(stored.map((r) => r.id));
    // A duplicate is queued again while it is still unprocessed (its first job may have been lost).
    const seenBefore = [...firsts.keys()].filter((id) => !inserted.has(id));
    const stillOpen = seenBefore.length
      ? (await this.db.$queryRaw<{ id: string }[]>`SELECT "id" FROM "LiveKitEvent" WHERE "id" = ANY(${seenBefore}::text[]) AND "processedAt" IS NULL`).map((r) => r.id)
      : [];
    const toQueue = [...inserted, ...stillOpen];
    // If Redis is down the events are still safe in Postgres; the reconciler picks them up.
    await this.queues.enqueueMany('livekit-event', toQueue.map((eventId) => ({ payload: { eventId }, jobId: eventJobId(eventId) }))).catch((err: Error) => {
      this.log.warn({ events: toQueue.length, err: { message: err.message } }, 'could not enqueue LiveKit events; the reconciler will process them');
    });
    const claimed = new Set<string>();
    return rows.map((row) => {
      const duplicate = !inserted.has(row.id) || claimed.has(row.id);
      claimed.add(row.id);
      return { duplicate };
    });
  }
}

export class LiveKitEventProcessor {
  constructor(
    private readonly db: Db,
    private readonly onSignals: SignalListener,
  ) {}

  /** Processes one stored event exactly once; returns what it concluded (for logs and tests). */
  async process(eventId: string): Promise<string> {
    const row = await this.db.liveKitEvent.findUnique({ where: { id: eventId } });
    if (!row) return 'missing';
    if (row.processedAt) return row.outcome ?? 'already processed';
    const event = WebhookEvent.fromJson(row.body as never, { ignoreUnknownFields: true });
    try {
      const result = await this.db.$transaction(async (tx) => {
        const claim = await tx.liveKitEvent.updateMany({ where: { id: eventId, processedAt: null }, data: { processedAt: new Date() } });
        if (claim.count === 0) return undefined;
        const applied = await this.apply(tx, event, row.occurredAt);
        await tx.liveKitEvent.update({ where: { id: eventId }, data: { outcome: applied.outcome.slice(0, 200) } });
        return applied;
      });
      if (!result) return 'already processed';
      if (result.signals.length > 0) await this.onSignals(result.signals);
      return result.outcome;
    } catch (error) {
      await this.db.liveKitEvent.update({
        where: { id: eventId },
        data: { failures: { increment: 1 }, lastError: String((error as Error).message).slice(0, 1000) },
      });
      throw error;
    }
  }

  private async apply(tx: Tx, event: WebhookEvent, at: Date): Promise<{ outcome: string; signals: LiveKitSignal[] }> {
    const roomName = event.room?.name || event.egressInfo?.roomName || '';
    const attemptId = attemptIdFromRoom(roomName);
    if (!attemptId || !(await tx.attempt.findUnique({ where: { id: attemptId }, select: { id: true } }))) {
      return { outcome: `ignored: ${roomName || 'no room'} is not a facesign attempt room`, signals: [] };
    }

    switch (event.event) {
      case 'participant_joined':
      case 'participant_left':
      case 'participant_connection_aborted':
      case 'track_published':
      case 'track_unpublished': {
        if (!event.participant) return { outcome: 'ignored: no participant', signals: [] };
        const observed = observeParticipant(event.participant);
        const leaving = event.event === 'participant_left' || event.event === 'participant_connection_aborted';
        const row = await mergeParticipant(tx, {
          attemptId,
          identity: observed.identity,
          role: roleOfIdentity(observed.identity),
          sid: observed.sid,
          sipCallStatus: observed.sipCallStatus,
          // Webhook times are whole seconds; a join carries LiveKit's millisecond join time. A leave is
          // placed at the end of its second, so a join and leave within one second read as "left";
          // decisions that must not be wrong about presence (the reconnect grace) ask LiveKit itself.
          ...(leaving ? { leftAt: new Date(at.getTime() + 999) } : { joinedAt: observed.joinedAt ?? at }),
          tracks: event.event === 'track_published' && event.track ? [event.track.sid] : [],
        });
        return {
          outcome: `${event.event} ${observed.identity}`,
          signals: [{ kind: 'participant', attemptId, identity: row.identity, role: row.kind, present: isPresent(row), sipCallStatus: row.sipCallStatus }],
        };
      }
      case 'room_finished':
        return finishRoom(tx, attemptId, at, 'webhook');
      case 'egress_started':
      case 'egress_updated':
      case 'egress_ended': {
        if (!event.egressInfo) return { outcome: 'ignored: no egress info', signals: [] };
        const applied = await applyEgressObservation(tx, observeEgress(event.egressInfo), 'webhook');
        if (applied.kind === 'unknown-egress') throw new RetryLater(`egress ${event.egressInfo.egressId} is not registered (yet)`);
        return { outcome: describeEgress(applied), signals: egressSignals(applied) };
      }
      default:
        return { outcome: `ignored: ${event.event}`, signals: [] };
    }
  }
}

export function describeEgress(applied: EgressApplication): string {
  if (applied.kind === 'advanced') return `recording ${applied.from} -> ${applied.to}`;
  if (applied.kind === 'stale') return `recording already ${applied.state}`;
  return 'unknown egress';
}

export function egressSignals(applied: EgressApplication): LiveKitSignal[] {
  return applied.kind === 'advanced' ? [{ kind: 'recording', recordingId: applied.recordingId, attemptId: applied.attemptId, state: applied.to }] : [];
}

/** The room is gone: the attempt ended, and everyone in it left. Idempotent. */
export async function finishRoom(tx: Tx, attemptId: string, at: Date, source: 'webhook' | 'reconciler') {
  // A call's room that is gone before any dial owns the attempt — a worker died after creating it and
  // the sweep released the attempt to be dialled again — does not end the attempt: ending it would
  // leave the session waiting for a dial that can no longer claim it. The new dial creates the room again.
  const attempt = await tx.attempt.findUnique({ where: { id: attemptId }, select: { dialClaimedAt: true, dialOutcome: true, session: { select: { kind: true, state: true } } } });
  if (attempt?.session.kind === 'CALL' && attempt.session.state === 'DISPATCHING' && !attempt.dialClaimedAt && !attempt.dialOutcome) {
    return { outcome: 'room gone before the dial; the attempt waits for its dial', signals: [] as LiveKitSignal[] };
  }
  const { count } = await tx.attempt.updateMany({ where: { id: attemptId, endedAt: null }, data: { endedAt: at } });
  await tx.attemptParticipant.updateMany({ where: { attemptId, OR: [{ leftAt: null }, { leftAt: { lt: at } }], joinedAt: { lt: at } }, data: { leftAt: at } });
  if (count === 0) return { outcome: 'room already finished', signals: [] as LiveKitSignal[] };
  await appendAudit(tx, { actor: { type: 'SYSTEM', id: `livekit-${source}` }, entity: { type: 'attempt', id: attemptId }, event: { action: 'attempt.room_finished', v: 1, data: { source } } });
  return { outcome: 'room finished', signals: [{ kind: 'room-finished', attemptId }] as LiveKitSignal[] };
}
