// Starts and stops the recording of an attempt. The Recording row exists before LiveKit is asked,
// so a crash between the two leaves a row the reconciler can match to the egress by its object key:
// no recording is ever left untracked.
import type { Db } from '../server/db/client.js';
import type { Recording } from '../server/db/generated/prisma/client.js';
import { recordingKey, roomNameFor } from '../server/livekit/identities.js';
import type { VideoPlatform } from '../server/livekit/video-platform.js';
import { applyEgressObservation } from './recording-lifecycle.js';

export class RecordingService {
  constructor(
    private readonly db: Db,
    private readonly platform: VideoPlatform,
  ) {}

  /** Idempotent: a second call for the same attempt returns the same recording. */
  async startForAttempt(attemptId: string): Promise<Recording> {
    const attempt = await this.db.attempt.findUniqueOrThrow({ where: { id: attemptId }, include: { session: true } });
    const audioOnly = attempt.session.kind === 'CALL';
    const objectKey = recordingKey({ loanFileId: attempt.session.loanFileId, sessionId: attempt.sessionId, attemptId }, audioOnly);
    const existing = await this.db.recording.upsert({
      where: { attemptId },
      create: { attemptId, audioOnly, objectKey },
      update: {},
    });
    if (existing.egressId) return existing;
    const observed = await this.platform.startRecording({ room: roomNameFor(attemptId), audioOnly, objectKey });
    return this.adopt(existing.id, observed);
  }

  /** Binds an egress to its recording row (at start, or when the reconciler finds an orphan). */
  async adopt(recordingId: string, observed: Awaited<ReturnType<VideoPlatform['startRecording']>>): Promise<Recording> {
    return this.db.$transaction(async (tx) => {
      await tx.recording.updateMany({ where: { id: recordingId, egressId: null }, data: { egressId: observed.egressId } });
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
