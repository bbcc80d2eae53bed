// Starts and stops the recording of an attempt. The Recording row exists before LiveKit is asked,
// so a crash between the two leaves a row the reconciler can match to the egress by its object key:
// no recording is ever left untracked.
import type { Db } from '../server/db/client.js';
import type { Recording } from '../server/db/generated/prisma/client.js';
import { recordingKey, roomNameFor } from '../server/livekit/identities.js';
import type { VideoPlatform } from '../server/livekit/video-platform.js';
import { applyEgressObservation } from './recording-lifecycle.js';
import { bindEgress, ensureRecording } from './recording.repository.js';

/** One recording start per attempt: queueing it again (after commit, or from the sweep) is harmless. */
export function recordingStartJobId(attemptId: string): string {
  return `recording-start-${attemptId}`;
}

export class RecordingService {
  constructor(
    private readonly db: Db,
    private readonly platform: VideoPlatform,
  ) {}

  /**
   * Idempotent: a second call for the same attempt returns the same recording. A row already waiting
   * for its egress means an earlier request may have reached LiveKit and lost its answer (a timeout,
   * a crash): that egress is bound instead of a second one started.
   */
  async startForAttempt(attemptId: string): Promise<Recording>;
  /** `ifLive`: nothing is started (undefined) for an attempt that ended before this ran. */
  async startForAttempt(attemptId: string, options: { ifLive: true }): Promise<Recording | undefined>;
  async startForAttempt(attemptId: string, options: { ifLive?: boolean } = {}): Promise<Recording | undefined> {
    const attempt = await this.db.attempt.findUniqueOrThrow({ where: { id: attemptId }, include: { session: true } });
    if (options.ifLive && attempt.endedAt) return undefined;
    const audioOnly = attempt.session.kind === 'CALL';
    const objectKey = recordingKey({ loanFileId: attempt.session.loanFileId, sessionId: attempt.sessionId, attemptId }, audioOnly);
    const known = await this.db.recording.findUnique({ where: { attemptId } });
    if (known?.egressId) return known;
    if (known) {
      const egresses = await this.platform.listRecordings({ room: roomNameFor(attemptId) });
      const earlier = egresses.find((e) => e.file?.key === known.objectKey || e.file === undefined);
      if (earlier) return this.adopt(known.id, earlier);
    }
    const existing = known ?? (await ensureRecording(this.db, { attemptId, audioOnly, objectKey }));
    if (existing.egressId) return existing;
    const observed = await this.platform.startRecording({ room: roomNameFor(attemptId), audioOnly, objectKey });
    return this.adopt(existing.id, observed);
  }

  /**
   * Live attempts whose recording was asked for (the transition set `recordingStartedAt`) but has no
   * egress yet, since before `before`: their start job may have been lost between commit and enqueue,
   * or with Redis. Only attempts of the last day (the reconciler's live window, on the startedAt index).
   */
  async awaitingStart(before: Date, take = 200): Promise<{ sessionId: string; attemptId: string }[]> {
    const attempts = await this.db.attempt.findMany({
      where: { startedAt: { gt: new Date(before.getTime() - 24 * 3600_000) }, endedAt: null, recordingStartedAt: { lt: before }, OR: [{ recording: null }, { recording: { egressId: null, state: 'REQUESTED' } }] },
      select: { id: true, sessionId: true },
      orderBy: { recordingStartedAt: 'asc' },
      take,
    });
    return attempts.map((a) => ({ sessionId: a.sessionId, attemptId: a.id }));
  }

  /** Binds an egress to its recording row (at start, or when the reconciler finds an orphan). */
  async adopt(recordingId: string, observed: Awaited<ReturnType<VideoPlatform['startRecording']>>): Promise<Recording> {
    return this.db.$transaction(async (tx) => {
      await bindEgress(tx, recordingId, observed.egressId);
      await applyEgressObservation(tx, observed, 'facesign');
      return tx.recording.findUniqueOrThrow({ where: { id: recordingId } });
    });
  }

  async stopForAttempt(attemptId: string): Promise<void> {
    const rec = await this.db.recording.findUnique({ where: { attemptId } });
    if (!rec?.egressId || !['REQUESTED', 'ACTIVE'].includes(rec.state)) return;
    const observed = await this.platform.stopRecording(rec.egressId);
    if (observed) await this.db.$transaction((tx) => applyEgressObservation(tx, observed, 'facesign'));
  }
}
