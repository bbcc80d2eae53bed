// LiveKit documents that webhooks may be dropped, duplicated or reordered. The reconciler asks
// LiveKit directly for everything facesign still considers live and repairs what webhooks missed:
// stuck inbox events, recordings whose egress ended unseen, rooms and participants that changed.
import { sqlTransaction, type Db } from '../db/client.js';
import type { Logger } from '../logging.js';
import { applyEgressObservation } from '../../recordings/recording-lifecycle.js';
import { roomNameFor, roleOfIdentity } from './identities.js';
import { isPresent, mergeParticipant } from './participants.js';
import { egressSignals, finishRoom, type LiveKitEventProcessor, type LiveKitSignal, type SignalListener } from './livekit-events.service.js';
import type { ObservedEgress } from './observations.js';
import type { VideoPlatform } from './video-platform.js';
import type { RecordingService } from '../../recordings/recording.service.js';

export interface ReconcileReport {
  inboxEventsProcessed: number;
  recordingsRepaired: number;
  roomsFinished: number;
  participantsRepaired: number;
  errors: number;
}

export interface ReconcilerSettings {
  /** Inbox events older than this, still unprocessed, are processed here. */
  inboxGraceMs: number;
  /** Attempts older than this are no longer polled. */
  liveWindowMs: number;
  batchSize: number;
}

const DEFAULTS: ReconcilerSettings = { inboxGraceMs: 15_000, liveWindowMs: 24 * 3600_000, batchSize: 200 };

export class LiveKitReconciler {
  private readonly settings: ReconcilerSettings;

  private readonly db: Db;
  private readonly platform: VideoPlatform;
  private readonly processor: LiveKitEventProcessor;
  private readonly recordings: RecordingService;
  private readonly onSignals: SignalListener;
  private readonly log: Logger;

  constructor(options: {
    db: Db;
    platform: VideoPlatform;
    processor: LiveKitEventProcessor;
    recordings: RecordingService;
    onSignals: SignalListener;
    log: Logger;
    settings?: Partial<ReconcilerSettings>;
  }) {
    this.db = options.db;
    this.platform = options.platform;
    this.processor = options.processor;
    this.recordings = options.recordings;
    this.onSignals = options.onSignals;
    this.log = options.log;
    this.settings = { ...DEFAULTS, ...options.settings };
  }

  async runOnce(now = new Date()): Promise<ReconcileReport> {
    const report: ReconcileReport = { inboxEventsProcessed: 0, recordingsRepaired: 0, roomsFinished: 0, participantsRepaired: 0, errors: 0 };
    const guard = async (what: string, fn: () => Promise<void>) => {
      try {
        await fn();
      } catch (error) {
        report.errors += 1;
        this.log.warn({ what, err: error }, 'reconcile step failed; next run retries');
      }
    };

    const stuck = await this.db.liveKitEvent.findMany({
      where: { processedAt: null, receivedAt: { lt: new Date(now.getTime() - this.settings.inboxGraceMs) } },
      orderBy: [{ occurredAt: 'asc' }, { receivedAt: 'asc' }],
      take: this.settings.batchSize,
      select: { id: true },
    });
    for (const { id } of stuck) {
      await guard(`event ${id}`, async () => {
        await this.processor.process(id);
        report.inboxEventsProcessed += 1;
      });
    }

    // A crash between creating a recording row and saving its egress id leaves an orphan: find the
    // egress by room and object key and bind it.
    const orphans = await this.db.recording.findMany({
      where: { egressId: null, state: 'REQUESTED', createdAt: { lt: new Date(now.getTime() - this.settings.inboxGraceMs) } },
      take: this.settings.batchSize,
    });
    for (const rec of orphans) {
      await guard(`orphan recording ${rec.id}`, async () => {
        const egresses = await this.platform.listRecordings({ room: roomNameFor(rec.attemptId) });
        const mine = egresses.find((e) => e.file?.key === rec.objectKey || e.file === undefined);
        if (!mine) return;
        await this.recordings.adopt(rec.id, mine);
        report.recordingsRepaired += 1;
      });
    }

    const recordings = await this.db.recording.findMany({
      where: { state: { in: ['REQUESTED', 'ACTIVE', 'ENDING'] }, egressId: { not: null } },
      orderBy: { updatedAt: 'asc' },
      take: this.settings.batchSize,
    });
    for (const rec of recordings) {
      await guard(`recording ${rec.id}`, async () => {
        // LiveKit forgets an egress 24 h after it ended (and answers not_found for it): one whose end
        // we never heard of is over. Take it as uploaded without LiveKit's file report; finalize then
        // judges it by what the store holds (verified from the object, or failed as object_missing).
        const [observed = forgottenEgress(rec.egressId!, roomNameFor(rec.attemptId))] = await this.platform.listRecordings({ egressId: rec.egressId! });
        const applied = await this.db.$transaction((tx) => applyEgressObservation(tx, observed, 'reconciler'));
        if (applied.kind === 'advanced') {
          report.recordingsRepaired += 1;
          await this.onSignals(egressSignals(applied));
        }
      });
    }

    const attempts = await this.db.attempt.findMany({
      where: { endedAt: null, startedAt: { gt: new Date(now.getTime() - this.settings.liveWindowMs) } },
      include: { participants: true },
      take: this.settings.batchSize,
    });
    for (const attempt of attempts) {
      await guard(`attempt ${attempt.id}`, async () => {
        const live = await this.platform.listParticipants(roomNameFor(attempt.id));
        if (live === undefined) {
          const result = await sqlTransaction(this.db, (sql) => finishRoom(sql, attempt.id, now, 'reconciler'));
          if (result.signals.length > 0) {
            report.roomsFinished += 1;
            await this.onSignals(result.signals);
          }
          return;
        }
        const signals: LiveKitSignal[] = [];
        const seen = new Set(live.map((p) => p.identity));
        await sqlTransaction(this.db, async (sql) => {
          for (const p of live) {
            const known = attempt.participants.find((k) => k.identity === p.identity);
            const statusMoved = p.sipCallStatus !== undefined && p.sipCallStatus !== known?.sipCallStatus;
            if (known && isPresent(known) && !statusMoved) continue;
            const row = await mergeParticipant(sql, {
              attemptId: attempt.id,
              identity: p.identity,
              role: roleOfIdentity(p.identity),
              sid: p.sid,
              sipCallStatus: p.sipCallStatus,
              joinedAt: known && isPresent(known) ? undefined : now,
            });
            signals.push({ kind: 'participant', attemptId: attempt.id, identity: row.identity, role: row.kind, present: isPresent(row), sipCallStatus: row.sipCallStatus });
          }
          for (const known of attempt.participants) {
            if (seen.has(known.identity) || !isPresent(known)) continue;
            const row = await mergeParticipant(sql, { attemptId: attempt.id, identity: known.identity, role: known.kind, leftAt: now });
            signals.push({ kind: 'participant', attemptId: attempt.id, identity: row.identity, role: row.kind, present: isPresent(row), sipCallStatus: row.sipCallStatus });
          }
        });
        report.participantsRepaired += signals.length;
        if (signals.length > 0) await this.onSignals(signals);
      });
    }

    if (Object.values(report).some((n) => n > 0)) this.log.info({ report }, 'reconciled with LiveKit');
    return report;
  }
}

function forgottenEgress(egressId: string, roomName: string): ObservedEgress {
  return { egressId, roomName, status: 'COMPLETE', error: undefined, startedAt: undefined, endedAt: undefined, file: undefined };
}
