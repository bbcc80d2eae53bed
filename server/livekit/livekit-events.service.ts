// LiveKit webhooks in two steps. Intake verifies the signature, stores the event once (deduped on
// LiveKit's event id, with its arrival time) and enqueues it, answering fast. Processing applies the
// stored event to the domain and concludes it in one transaction, so a re-delivered job changes
// nothing twice.
import { randomUUID } from 'node:crypto';
import { WebhookEvent } from 'livekit-server-sdk';
import { sql as fragment } from 'kysely';
import { sqlAutocommit, sqlIn, sqlTransaction, type Db, type Sql, type Tx } from '../db/client.js';
import { build, first, rows as rowsOf } from '../db/typed-sql.js';
import type { DialOutcome, SessionKind, SessionState } from '../db/generated/kysely/types.js';
import type { Logger } from '../logging.js';
import { AppError } from '../shared/errors.js';
import type { JobQueues } from '../jobs/queues.js';
import { MicroBatch } from '../db/micro-batch.js';
import { insertAudit } from '../audit/audit.service.js';
import { applyEgressObservation, type EgressApplication } from '../../recordings/recording-lifecycle.js';
import { attemptIdFromRoom, roleOfIdentity } from './identities.js';
import { observeEgress, observeParticipant } from './observations.js';
import { everyoneLeft, isPresent, mergeParticipant, mergeParticipantStatement, type ParticipantFact, type ParticipantRow } from './participants.js';
import { endAttemptWithRoom } from '../verification/verification.repository.js';
import type { LiveKitWebhookVerifier } from './webhook-verifier.js';
import type { EventLag } from '../metrics/event-lag.js';

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
  /** When the webhook arrived here (the start of its event lag). */
  receivedAt: Date;
  /** The webhook's JSON text. */
  body: string;
}

interface Stored {
  duplicate: boolean;
  /** Whether this delivery must queue the event for processing. */
  queue: boolean;
}

export interface LiveKitEventIntakeOptions {
  db: Db;
  queues: JobQueues;
  verifier: LiveKitWebhookVerifier;
  log: Logger;
  /** Times each event from its arrival to its job queued (stage "queued"). */
  lag?: EventLag;
}

export class LiveKitEventIntake {
  // Concurrent webhooks share one insert, then one enqueue; each is answered after both. The two
  // stages overlap (one batch is being queued while the next is being stored), one batch each at a time.
  private readonly inbox = new MicroBatch<InboxRow, Stored>((rows) => this.store(rows), { maxBatch: 200, maxInFlight: 1 });
  private readonly outbox = new MicroBatch<string, boolean>((eventIds) => this.enqueue(eventIds), { maxBatch: 500, maxInFlight: 1 });

  private readonly db: Db;
  private readonly queues: JobQueues;
  private readonly verifier: LiveKitWebhookVerifier;
  private readonly log: Logger;
  private readonly lag: EventLag | undefined;

  constructor(options: LiveKitEventIntakeOptions) {
    this.db = options.db;
    this.queues = options.queues;
    this.verifier = options.verifier;
    this.log = options.log;
    this.lag = options.lag;
  }

  async receive(rawBody: string, authorization: string | undefined): Promise<{ duplicate: boolean }> {
    const receivedAt = new Date();
    let event: WebhookEvent;
    try {
      event = this.verifier.verify(rawBody, authorization);
    } catch (error) {
      this.log.warn({ reason: (error as Error).message }, 'rejected a LiveKit webhook');
      throw new AppError('WEBHOOK_SIGNATURE_INVALID', 'The webhook signature, body hash or expiry is not valid');
    }
    if (!event.id || !event.event) throw new AppError('VALIDATION_FAILED', 'The webhook has no event id or name');
    const stored = await this.inbox.submit({
      id: event.id,
      event: event.event,
      roomName: event.room?.name || event.egressInfo?.roomName || null,
      egressId: event.egressInfo?.egressId || null,
      occurredAt: new Date(Number(event.createdAt) * 1000 || Date.now()),
      receivedAt,
      // Exactly what LiveKit sent: the verified bytes, stored as jsonb.
      body: rawBody,
    });
    if (stored.queue) {
      const queued = await this.outbox.submit(event.id);
      if (queued) this.lag?.observe({ eventId: event.id, stage: 'queued', receivedAt: receivedAt.getTime(), at: Date.now() });
    }
    return { duplicate: stored.duplicate };
  }

  /**
   * Stores a batch of events once each and says which to queue: the new ones, and a duplicate whose
   * event is still unprocessed (its first job may have been lost). A batch
   * Postgres refuses (say, one body jsonb cannot hold) is stored one event at a time, so only the
   * event at fault fails.
   */
  private async store(rows: InboxRow[]): Promise<Stored[]> {
    try {
      return await this.storeTogether(rows);
    } catch (error) {
      if (rows.length === 1) throw error;
      const results: Stored[] = [];
      for (const row of rows) results.push(...(await this.storeTogether([row])));
      return results;
    }
  }

  private async storeTogether(rows: InboxRow[]): Promise<Stored[]> {
    // One insert says which events are new; the same event twice in one batch is new only once.
    const firsts = new Map<string, InboxRow>();
    for (const row of rows) if (!firsts.has(row.id)) firsts.set(row.id, row);
    // In id order: LiveKit posts each event to every node, and two nodes inserting the same events in
    // different orders would deadlock on each other's keys.
    const fresh = [...firsts.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    // One JSON parameter for the whole batch (one statement shape whatever the size, planned once):
    // the bodies go in as the verified JSON text they are, nothing escaped or re-serialised on the way.
    const batch = `[${fresh.map((r) => `{"id":${JSON.stringify(r.id)},"event":${JSON.stringify(r.event)},"roomName":${JSON.stringify(r.roomName)},"egressId":${JSON.stringify(r.egressId)},"occurredAt":"${r.occurredAt.toISOString()}","receivedAt":"${r.receivedAt.toISOString()}","body":${r.body}}`).join(',')}]`;
    const records = fragment<InboxRecord>`jsonb_to_recordset(${batch}::jsonb)`.as<'e'>(
      fragment`e("id" text, "event" text, "roomName" text, "egressId" text, "occurredAt" timestamptz, "receivedAt" timestamptz, "body" jsonb)`,
    );
    const stored = await rowsOf(
      sqlAutocommit(this.db),
      build
        .insertInto('LiveKitEvent')
        .columns(['id', 'event', 'roomName', 'egressId', 'occurredAt', 'receivedAt', 'body'])
        .expression(build.selectFrom(records).select(['e.id', 'e.event', 'e.roomName', 'e.egressId', 'e.occurredAt', 'e.receivedAt', 'e.body']))
        .onConflict((oc) => oc.column('id').doNothing())
        .returning('id'),
      'livekit-event-intake',
    );
    const inserted = new Set(stored.map((r) => r.id));
    const seenBefore = [...firsts.keys()].filter((id) => !inserted.has(id));
    const stillOpen = new Set(
      seenBefore.length
        ? (
            await rowsOf(
              sqlAutocommit(this.db),
              build
                .selectFrom('LiveKitEvent')
                .select('id')
                .where((eb) => eb('id', '=', eb.fn.any(eb.val(seenBefore))))
                .where('processedAt', 'is', null),
            )
          ).map((r) => r.id)
        : [],
    );
    const claimed = new Set<string>();
    return rows.map((row) => {
      const first = !claimed.has(row.id);
      claimed.add(row.id);
      return { duplicate: !first || !inserted.has(row.id), queue: first && (inserted.has(row.id) || stillOpen.has(row.id)) };
    });
  }

  /**
   * One job for a batch of stored events; processing claims each event, so running it twice is harmless.
   * Says for each whether it was queued.
   */
  private async enqueue(eventIds: string[]): Promise<boolean[]> {
    // If Redis is down the events are still safe in Postgres; the reconciler processes them.
    const queued = await this.queues.enqueue('livekit-events', { eventIds: [...new Set(eventIds)] }, { jobId: `lkb-${randomUUID()}` }).then(
      () => true,
      (err: Error) => {
        this.log.warn({ events: eventIds.length, err }, 'could not enqueue LiveKit events; the reconciler will process them');
        return false;
      },
    );
    return eventIds.map(() => queued);
  }
}

/** An event of an intake batch as the insert reads it from the batch's JSON (the body as JSON, not text). */
type InboxRecord = Omit<InboxRow, 'body'> & { body: unknown };

/** A stored event as processing reads it. */
interface StoredEvent {
  id: string;
  body: unknown;
  occurredAt: Date;
  receivedAt: Date;
}

/** The events whose processing reads or changes something; every other kind is only concluded. */
const APPLIED_EVENTS = new Set(['participant_joined', 'participant_left', 'participant_connection_aborted', 'track_published', 'track_unpublished', 'room_finished']);

/** Events that only merge a participant fact (when they carry one): applied in one statement. */
const PARTICIPANT_EVENTS = new Set(['participant_joined', 'participant_left', 'participant_connection_aborted', 'track_published']);

/** Rooms of one intake batch processed side by side; the events of one room go one after another. */
export const ROOM_LANES = 8;

/** Rolls back an application whose event another delivery concluded first. */
class ConcludedElsewhere extends Error {}

export class LiveKitEventProcessor {
  constructor(
    private readonly db: Db,
    private readonly onSignals: SignalListener,
    private readonly lag?: EventLag,
  ) {}

  /**
   * Processes an intake batch. One read takes every open event of it; the events that change nothing
   * (kinds facesign does not act on, rooms that are not attempts) are concluded together in one
   * statement, and the rest are applied room by room: a room's events in the order they arrived,
   * several rooms at once. One that fails here is handed to its own retrying `livekit-event` job
   * instead of holding up the rest; only if that hand-off fails does the batch fail (and run again,
   * skipping the events already processed).
   */
  async processBatch(eventIds: string[], retryAlone: (eventId: string) => Promise<void>): Promise<void> {
    const takenAt = Date.now();
    const rows = await rowsOf(
      sqlAutocommit(this.db),
      build
        .selectFrom('LiveKitEvent')
        .select(['id', 'event', 'roomName', 'egressId', 'body', 'occurredAt', 'receivedAt'])
        .where((eb) => eb('id', '=', eb.fn.any(eb.val(eventIds))))
        .where('processedAt', 'is', null),
      'livekit-event-read-batch',
    );
    const byId = new Map(rows.map((row) => [row.id, row]));
    const open = [...new Set(eventIds)].flatMap((id) => byId.get(id) ?? []);
    for (const row of open) this.lag?.observe({ eventId: row.id, stage: 'taken', receivedAt: row.receivedAt.getTime(), at: takenAt });
    const attemptIds = [...new Set(open.flatMap((row) => attemptIdFromRoom(row.roomName ?? '') ?? []))];
    const known = new Set(
      attemptIds.length > 0
        ? (await rowsOf(sqlAutocommit(this.db), build.selectFrom('Attempt').select('id').where((eb) => eb('id', '=', eb.fn.any(eb.val(attemptIds)))), 'livekit-batch-attempts')).map((r) => r.id)
        : [],
    );
    const ignored: { id: string; outcome: string; receivedAt: Date }[] = [];
    const lanes = new Map<string, StoredEvent[]>();
    for (const row of open) {
      const egress = row.egressId !== null || row.event.startsWith('egress_');
      const attemptId = attemptIdFromRoom(row.roomName ?? '');
      if (!egress && (!attemptId || !known.has(attemptId))) ignored.push({ id: row.id, outcome: `ignored: ${row.roomName || 'no room'} is not a facesign attempt room`, receivedAt: row.receivedAt });
      else if (!egress && !APPLIED_EVENTS.has(row.event)) ignored.push({ id: row.id, outcome: `ignored: ${row.event}`, receivedAt: row.receivedAt });
      else {
        const lane = lanes.get(row.roomName ?? '') ?? [];
        lane.push(row);
        lanes.set(row.roomName ?? '', lane);
      }
    }
    if (ignored.length > 0) await this.concludeIgnored(ignored);

    const handOffs: Error[] = [];
    const queue = [...lanes.values()];
    const runLane = async () => {
      for (let lane = queue.shift(); lane; lane = queue.shift()) {
        for (const row of lane) {
          try {
            await this.applyStored(row, true);
          } catch {
            await retryAlone(row.id).catch((error: Error) => handOffs.push(error));
          }
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(ROOM_LANES, queue.length) }, runLane));
    if (handOffs.length > 0) throw new Error(`${handOffs.length} failed events could not be queued to retry: ${handOffs[0]!.message}`);
  }

  /** Concludes events that change nothing, in one statement (an event concluded meanwhile keeps its outcome). */
  private async concludeIgnored(events: { id: string; outcome: string; receivedAt: Date }[]): Promise<void> {
    const outcomes = fragment<{ id: string; outcome: string }>`unnest(${events.map((e) => e.id)}::text[], ${events.map((e) => e.outcome.slice(0, 200))}::text[])`;
    const rows = await rowsOf(
      sqlAutocommit(this.db),
      build
        .with('o', (db) => db.selectFrom(outcomes.as<'o'>(fragment`o("id", "outcome")`)).selectAll())
        // Rows locked in id order: a duplicate delivery may put the same events in another node's batch.
        .with('target', (db) => db.selectFrom('LiveKitEvent as e').innerJoin('o', 'o.id', 'e.id').select('e.id').where('e.processedAt', 'is', null).orderBy('e.id').forUpdate('e'))
        .updateTable('LiveKitEvent as e')
        .from('target')
        .innerJoin('o', 'o.id', 'target.id')
        .set((eb) => ({ processedAt: fragment<Date>`now()`, outcome: eb.ref('o.outcome') }))
        .whereRef('e.id', '=', 'target.id')
        .where('e.processedAt', 'is', null)
        .returning('e.id'),
      'livekit-event-conclude-ignored',
    );
    const at = Date.now();
    const concluded = new Set(rows.map((r) => r.id));
    for (const event of events) if (concluded.has(event.id)) this.lag?.observe({ eventId: event.id, stage: 'applied', receivedAt: event.receivedAt.getTime(), at });
  }

  /** Processes one stored event exactly once; returns what it concluded (for logs and tests). */
  async process(eventId: string): Promise<string> {
    const takenAt = Date.now();
    const row = await first(
      sqlAutocommit(this.db),
      build.selectFrom('LiveKitEvent').select(['id', 'body', 'occurredAt', 'receivedAt', 'processedAt', 'outcome']).where('id', '=', eventId),
      'livekit-event-read',
    );
    if (!row) return 'missing';
    if (row.processedAt) return row.outcome ?? 'already processed';
    this.lag?.observe({ eventId, stage: 'taken', receivedAt: row.receivedAt.getTime(), at: takenAt });
    return this.applyStored(row, false);
  }

  /**
   * Applies an open event and concludes it in one transaction. The conclusion comes last and only
   * where no other delivery concluded the event first: when one did (it waits for that one's commit),
   * everything this one applied is rolled back, so a re-delivered job changes nothing twice.
   */
  private async applyStored(row: StoredEvent, attemptKnown: boolean): Promise<string> {
    const eventId = row.id;
    const event = WebhookEvent.fromJson(row.body as never, { ignoreUnknownFields: true });
    // Recording events go through the recordings module's Prisma code; the rest (every call's
    // participants and room) through SQL on the pool.
    const run = async (sql: Sql, apply: () => Promise<{ outcome: string; signals: LiveKitSignal[] }>) => {
      const applied = await apply();
      const concluded = await rowsOf(sql, concludeEvent(eventId, applied.outcome), 'livekit-event-conclude');
      if (concluded.length === 0) throw new ConcludedElsewhere();
      return applied;
    };
    try {
      const attemptId = attemptIdFromRoom(event.room?.name || '');
      const fact = !event.egressInfo && attemptKnown && attemptId && PARTICIPANT_EVENTS.has(event.event) ? participantFact(event, attemptId, row.occurredAt) : undefined;
      const result = fact && 'fact' in fact
        ? await this.mergeAndConclude(eventId, `${event.event} ${fact.fact.identity}`, fact.fact)
        : event.egressInfo
          ? await this.db.$transaction((tx) => run(sqlIn(tx), () => this.applyEgress(tx, event)))
          : await sqlTransaction(this.db, (sql) => run(sql, () => this.apply(sql, event, row.occurredAt, attemptKnown)));
      const receivedAt = row.receivedAt.getTime();
      this.lag?.observe({ eventId, stage: 'applied', receivedAt, at: Date.now() });
      if (result.signals.length > 0) {
        await this.onSignals(result.signals);
        this.lag?.observe({ eventId, stage: 'delivered', receivedAt, at: Date.now() });
      }
      return result.outcome;
    } catch (error) {
      if (error instanceof ConcludedElsewhere) return 'already processed';
      await rowsOf(
        sqlAutocommit(this.db),
        build
          .updateTable('LiveKitEvent')
          .set((eb) => ({ failures: eb('failures', '+', 1), lastError: String((error as Error).message).slice(0, 1000) }))
          .where('id', '=', eventId),
        'livekit-event-failed',
      );
      throw error;
    }
  }

  /**
   * A participant event of a known attempt in one statement: the merge and the conclusion commit
   * together. The merge is idempotent, so a delivery that finds the event concluded by another (it
   * waits for that one's commit) changes nothing by having merged again, and signals nothing.
   */
  private async mergeAndConclude(eventId: string, outcome: string, fact: ParticipantFact): Promise<{ outcome: string; signals: LiveKitSignal[] }> {
    const row = await first(
      sqlAutocommit(this.db),
      build
        .with('merged', () => mergeParticipantStatement(fact))
        .with('concluded', () => concludeEvent(eventId, outcome))
        .selectFrom('merged')
        .selectAll('merged')
        .select((eb) => eb.exists(eb.selectFrom('concluded').selectAll()).$castTo<boolean>().as('concluded')),
      'livekit-participant-event',
    );
    if (!row) throw new Error('participant merge returned nothing');
    if (!row.concluded) throw new ConcludedElsewhere();
    return { outcome, signals: [participantSignal(fact.attemptId, row)] };
  }

  private async applyEgress(tx: Tx, event: WebhookEvent): Promise<{ outcome: string; signals: LiveKitSignal[] }> {
    const egress = event.egressInfo!;
    const attemptId = attemptIdFromRoom(egress.roomName);
    if (!attemptId || !(await tx.attempt.findUnique({ where: { id: attemptId }, select: { id: true } }))) {
      return { outcome: `ignored: ${egress.roomName || 'no room'} is not a facesign attempt room`, signals: [] };
    }
    if (event.event !== 'egress_started' && event.event !== 'egress_updated' && event.event !== 'egress_ended') return { outcome: `ignored: ${event.event}`, signals: [] };
    const applied = await applyEgressObservation(tx, observeEgress(egress), 'webhook');
    if (applied.kind === 'unknown-egress') throw new RetryLater(`egress ${egress.egressId} is not registered (yet)`);
    return { outcome: describeEgress(applied), signals: egressSignals(applied) };
  }

  private async apply(sql: Sql, event: WebhookEvent, at: Date, attemptKnown: boolean): Promise<{ outcome: string; signals: LiveKitSignal[] }> {
    const roomName = event.room?.name || '';
    const attemptId = attemptIdFromRoom(roomName);
    // Attempts are never deleted: one the batch found needs no second look.
    const known = attemptKnown ? [1] : attemptId ? await rowsOf(sql, build.selectFrom('Attempt').select('id').where('id', '=', attemptId), 'attempt-exists') : [];
    if (!attemptId || known.length === 0) {
      return { outcome: `ignored: ${roomName || 'no room'} is not a facesign attempt room`, signals: [] };
    }

    switch (event.event) {
      case 'participant_joined':
      case 'participant_left':
      case 'participant_connection_aborted':
      case 'track_published':
      case 'track_unpublished': {
        const observed = participantFact(event, attemptId, at);
        if ('outcome' in observed) return { outcome: observed.outcome, signals: [] };
        const row = await mergeParticipant(sql, observed.fact);
        return { outcome: `${event.event} ${observed.fact.identity}`, signals: [participantSignal(attemptId, row)] };
      }
      case 'room_finished':
        return finishRoom(sql, attemptId, at, 'webhook');
      default:
        return { outcome: `ignored: ${event.event}`, signals: [] };
    }
  }
}

/** What a participant or track event says about who is in the room, or why it says nothing. */
function participantFact(event: WebhookEvent, attemptId: string, at: Date): { fact: ParticipantFact } | { outcome: string } {
  if (!event.participant) return { outcome: 'ignored: no participant' };
  const observed = observeParticipant(event.participant);
  if (observed.isRecorder) return { outcome: `ignored: ${event.event} of the egress recorder` };
  // Sent by a session a reload may just have replaced, after its successor joined: it says
  // nothing about who is in the room now.
  if (event.event === 'track_unpublished') return { outcome: `${event.event} ${observed.identity}` };
  const leaving = event.event === 'participant_left' || event.event === 'participant_connection_aborted';
  return {
    fact: {
      attemptId,
      identity: observed.identity,
      role: roleOfIdentity(observed.identity),
      sid: observed.sid,
      sipCallStatus: observed.sipCallStatus,
      // LiveKit's millisecond join time of this session, which a leave carries too: it tells the
      // leave of a session a reload replaced (sent after the new one joined, and stamped later)
      // from the leave of the current one. A track_published (no join time) shows its session was
      // in the room by the start of the event's second; a leave without one counts from its time.
      joinedAt: observed.joinedAt ?? (leaving ? undefined : at),
      // Webhook times are whole seconds: a leave is placed at the end of its second, so a join and
      // leave within one second read as "left"; decisions that must not be wrong about presence
      // (the reconnect grace) ask LiveKit itself.
      ...(leaving ? { leftAt: new Date(at.getTime() + 999) } : {}),
      tracks: event.event === 'track_published' && event.track ? [event.track.sid] : [],
    },
  };
}

const participantSignal = (attemptId: string, row: ParticipantRow): LiveKitSignal => ({
  kind: 'participant', attemptId, identity: row.identity, role: row.kind, present: isPresent(row), sipCallStatus: row.sipCallStatus,
});

export function describeEgress(applied: EgressApplication): string {
  if (applied.kind === 'advanced') return `recording ${applied.from} -> ${applied.to}`;
  if (applied.kind === 'stale') return `recording already ${applied.state}`;
  return 'unknown egress';
}

export function egressSignals(applied: EgressApplication): LiveKitSignal[] {
  return applied.kind === 'advanced' ? [{ kind: 'recording', recordingId: applied.recordingId, attemptId: applied.attemptId, state: applied.to }] : [];
}

/** Concludes an open event with its outcome; returns its id, or nothing when it was already concluded. */
function concludeEvent(eventId: string, outcome: string) {
  return build
    .updateTable('LiveKitEvent')
    .set({ processedAt: fragment<Date>`now()`, outcome: outcome.slice(0, 200) })
    .where('id', '=', eventId)
    .where('processedAt', 'is', null)
    .returning('id');
}

/** The room is gone: the attempt ended, and everyone in it left. Idempotent. */
export async function finishRoom(sql: Sql, attemptId: string, at: Date, source: 'webhook' | 'reconciler') {
  // A call's room that is gone before any dial owns the attempt — a worker died after creating it and
  // the sweep released the attempt to be dialled again — does not end the attempt: ending it would
  // leave the session waiting for a dial that can no longer claim it. The new dial creates the room again.
  const attempt = await first(
    sql,
    build
      .selectFrom('Attempt as a')
      .innerJoin('VerificationSession as s', 's.id', 'a.sessionId')
      .select((eb) => [
        'a.dialClaimedAt',
        fragment<DialOutcome | null>`${eb.ref('a.dialOutcome')}::text`.as('dialOutcome'),
        fragment<SessionKind>`${eb.ref('s.kind')}::text`.as('kind'),
        fragment<SessionState>`${eb.ref('s.state')}::text`.as('state'),
      ])
      .where('a.id', '=', attemptId),
    'room-finish-attempt',
  );
  if (attempt?.kind === 'CALL' && attempt.state === 'DISPATCHING' && !attempt.dialClaimedAt && !attempt.dialOutcome) {
    return { outcome: 'room gone before the dial; the attempt waits for its dial', signals: [] as LiveKitSignal[] };
  }
  const ended = await endAttemptWithRoom(sql, attemptId, at);
  await everyoneLeft(sql, attemptId, at);
  if (!ended) return { outcome: 'room already finished', signals: [] as LiveKitSignal[] };
  await insertAudit(sql, { actor: { type: 'SYSTEM', id: `livekit-${source}` }, entity: { type: 'attempt', id: attemptId }, event: { action: 'attempt.room_finished', v: 1, data: { source } } });
  return { outcome: 'room finished', signals: [{ kind: 'room-finished', attemptId }] as LiveKitSignal[] };
}
