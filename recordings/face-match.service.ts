// The face-match assist around captures. When the agent has taken both an ID_FRONT and a FACE
// snapshot, the capture's transaction also writes a PENDING FaceMatch row for the newest pair; a
// `face-match` job then runs the model (in its worker thread, face-matcher.ts), stores the two face
// crops next to the snapshots, completes the row and audits the result, and the desk is told over
// the socket. Postgres holds the request: a job lost with Redis is queued again by the session sweep.
// The result is an assist: the agent looks at the crops and decides.
import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import type { Readable } from 'node:stream';
import type { Db, Tx } from '../server/db/client.js';
import type { Capture, FaceMatch } from '../server/db/generated/prisma/client.js';
import { AppError } from '../server/shared/errors.js';
import { actorOf, appendAudit } from '../server/audit/audit.service.js';
import type { UserPrincipal } from '../server/auth/principal.js';
import { CaptureAssistJob, type CaptureAssistOptions } from './capture-assist.js';
import { canReadSessionMedia, faceMatchVerdict } from './captures.service.js';
import { classify, type FaceComparison, type FaceMatchThresholds } from './face-matcher.js';

export interface FaceMatchSettings {
  enabled: boolean;
  thresholds: FaceMatchThresholds;
}

/** What compares two images; FaceMatcher in production and tests. */
export interface FaceComparer {
  compare(idImage: Uint8Array, liveImage: Uint8Array): Promise<FaceComparison>;
}

export type FaceMatchSide = 'id' | 'live';

export const faceMatchJobId = (faceMatchId: string) => `face-match-${faceMatchId}`;

export const faceMatchDto = (m: FaceMatch) => ({
  ...faceMatchVerdict(m),
  sessionId: m.sessionId,
  idCaptureId: m.idCaptureId,
  liveCaptureId: m.liveCaptureId,
  faceCounts: { id: m.idFaceCount, live: m.liveFaceCount },
  crops: {
    id: m.idCropKey ? `/api/face-matches/${m.id}/crops/id` : null,
    live: m.liveCropKey ? `/api/face-matches/${m.id}/crops/live` : null,
  },
  createdAt: m.createdAt.toISOString(),
  completedAt: m.completedAt?.toISOString() ?? null,
});

/** store, enqueue (a match's id and job id) and log: as for every capture assist. */
export interface FaceMatchServiceOptions extends Pick<CaptureAssistOptions, 'store' | 'enqueue' | 'log'> {
  db: Db;
  comparer: FaceComparer;
  settings: FaceMatchSettings;
  /** A match reached DONE or FAILED (the desk is told). */
  onCompleted: (match: FaceMatch) => void;
}

type PendingMatch = FaceMatch & { idCapture: Capture; liveCapture: Capture };

export class FaceMatchService extends CaptureAssistJob<PendingMatch> {
  private readonly db: Db;
  private readonly comparer: FaceComparer;
  private readonly settings: FaceMatchSettings;
  /** Told after a match completed (the socket event). */
  private readonly onCompleted: (match: FaceMatch) => void;

  constructor(options: FaceMatchServiceOptions) {
    super({ name: 'face match', jobIdOf: faceMatchJobId, store: options.store, enqueue: options.enqueue, log: options.log });
    this.db = options.db;
    this.comparer = options.comparer;
    this.settings = options.settings;
    this.onCompleted = options.onCompleted;
  }

  /**
   * In the capture's transaction: a new ID_FRONT or FACE is paired with the newest capture of the
   * other kind in the session. Returns the new match's id, for queueing after commit.
   */
  async pairInTransaction(tx: Tx, capture: Capture): Promise<string | undefined> {
    if (!this.settings.enabled || (capture.kind !== 'ID_FRONT' && capture.kind !== 'FACE')) return undefined;
    const other = await tx.capture.findFirst({
      where: { sessionId: capture.sessionId, kind: capture.kind === 'FACE' ? 'ID_FRONT' : 'FACE' },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
    });
    if (!other) return undefined;
    const [idCapture, liveCapture] = capture.kind === 'ID_FRONT' ? [capture, other] : [other, capture];
    const match = await tx.faceMatch.create({
      data: {
        sessionId: capture.sessionId,
        idCaptureId: idCapture.id,
        liveCaptureId: liveCapture.id,
        matchThreshold: this.settings.thresholds.matchAt,
        noMatchThreshold: this.settings.thresholds.noMatchBelow,
      },
    });
    return match.id;
  }

  protected async pendingSince(before: Date): Promise<string[]> {
    const rows = await this.db.faceMatch.findMany({ where: { status: 'PENDING', createdAt: { lt: before } }, select: { id: true }, take: 100, orderBy: { createdAt: 'asc' } });
    return rows.map((r) => r.id);
  }

  protected load(faceMatchId: string): Promise<PendingMatch | null> {
    return this.db.faceMatch.findUnique({ where: { id: faceMatchId }, include: { idCapture: true, liveCapture: true } });
  }

  protected async fail(match: PendingMatch, failure: string): Promise<void> {
    await this.complete(match, { status: 'FAILED', failure });
  }

  protected async check(match: PendingMatch): Promise<void> {
    const [idImage, liveImage] = await Promise.all([this.image(match.idCapture), this.image(match.liveCapture)]);
    const comparison = await this.comparer.compare(idImage, liveImage);
    const { result, score } = classify(comparison, { matchAt: match.matchThreshold, noMatchBelow: match.noMatchThreshold });
    const crops = await this.storeCrops(match, comparison);
    await this.complete(match, {
      status: 'DONE',
      result,
      score,
      modelName: comparison.model.name,
      modelVersion: comparison.model.version,
      idFaceCount: comparison.id.faceCount,
      liveFaceCount: comparison.live.faceCount,
      ...crops,
      failure: comparison.id.unreadable ?? comparison.live.unreadable ?? null,
    });
  }

  /** Next to the snapshots: `captures/<loan file>/<session>/face-match-<id>-{id,live}.jpg`. */
  private async storeCrops(match: FaceMatch & { idCapture: Capture }, comparison: FaceComparison) {
    const folder = posix.dirname(match.idCapture.objectKey);
    const stored: { idCropKey?: string; idCropSha256?: string; liveCropKey?: string; liveCropSha256?: string } = {};
    for (const side of ['id', 'live'] as const) {
      const crop = comparison[side].crop;
      if (!crop) continue;
      const key = `${folder}/face-match-${match.id}-${side}.jpg`;
      const bytes = Buffer.from(crop);
      await this.store.put(key, bytes, 'image/jpeg');
      stored[`${side}CropKey`] = key;
      stored[`${side}CropSha256`] = createHash('sha256').update(bytes).digest('hex');
    }
    return stored;
  }

  private async complete(
    match: FaceMatch,
    data: { status: 'DONE' | 'FAILED'; result?: FaceMatch['result']; score?: number | null; modelName?: string; modelVersion?: string; idFaceCount?: number; liveFaceCount?: number; idCropKey?: string; idCropSha256?: string; liveCropKey?: string; liveCropSha256?: string; failure?: string | null },
  ): Promise<void> {
    const completed = await this.db.$transaction(async (tx) => {
      const { count } = await tx.faceMatch.updateMany({ where: { id: match.id, status: 'PENDING' }, data: { ...data, completedAt: new Date() } });
      if (count === 0) return undefined;
      await appendAudit(tx, {
        actor: { type: 'SYSTEM', id: 'face-match' },
        entity: { type: 'face_match', id: match.id },
        event: {
          action: 'face_match.completed',
          v: 1,
          data: {
            sessionId: match.sessionId,
            idCaptureId: match.idCaptureId,
            liveCaptureId: match.liveCaptureId,
            status: data.status,
            result: data.result ?? null,
            score: data.score ?? null,
            matchThreshold: match.matchThreshold,
            noMatchThreshold: match.noMatchThreshold,
            model: data.modelName && data.modelVersion ? `${data.modelName}; ${data.modelVersion}` : null,
          },
        },
        requestId: `face-match-${match.id}`,
      });
      return tx.faceMatch.findUniqueOrThrow({ where: { id: match.id } });
    });
    if (completed) this.onCompleted(completed);
  }

  /** The session's matches, newest first (assigned agent, supervisors, admins, auditors). */
  async list(sessionId: string, principal: UserPrincipal): Promise<FaceMatch[]> {
    const session = await this.db.verificationSession.findUnique({ where: { id: sessionId }, select: { assignedAgentId: true } });
    if (!session || !canReadSessionMedia(principal, session)) throw new AppError('NOT_FOUND', `No session ${sessionId}`);
    return this.db.faceMatch.findMany({ where: { sessionId }, orderBy: [{ createdAt: 'desc' }, { id: 'desc' }] });
  }

  async authorizeCrop(faceMatchId: string, side: FaceMatchSide, principal: UserPrincipal): Promise<{ match: FaceMatch; key: string }> {
    const match = await this.db.faceMatch.findUnique({ where: { id: faceMatchId }, include: { idCapture: { include: { session: { select: { assignedAgentId: true } } } } } });
    if (!match || !canReadSessionMedia(principal, match.idCapture.session)) throw new AppError('NOT_FOUND', `No face match ${faceMatchId}`);
    const key = side === 'id' ? match.idCropKey : match.liveCropKey;
    if (!key) throw new AppError('NOT_FOUND', `Face match ${faceMatchId} has no ${side} crop`);
    const { idCapture: _idCapture, ...row } = match;
    return { match: row, key };
  }

  /** Opens a crop and audits the read before returning it, as for the snapshots themselves. */
  async openCrop(match: FaceMatch, side: FaceMatchSide, key: string, principal: UserPrincipal, requestId: string): Promise<{ body: Readable; contentLength: number }> {
    const object = await this.store.read(key);
    try {
      await this.db.$transaction((tx) =>
        appendAudit(tx, { actor: actorOf(principal), entity: { type: 'face_match', id: match.id }, event: { action: 'face_match.crop_accessed', v: 1, data: { sessionId: match.sessionId, side } }, requestId }),
      );
    } catch (error) {
      object.body.destroy();
      throw error;
    }
    return { body: object.body, contentLength: object.contentLength };
  }
}
