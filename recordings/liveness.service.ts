// The active-liveness assist around captures. The agent reads the session's liveness prompt, takes a
// LIVENESS_BEFORE snapshot, asks the party to do it, and takes a LIVENESS_ACTION snapshot while the
// party does it (head turned, eyes shut, mouth open). The action capture's transaction writes a
// PENDING LivenessCheck against the newest LIVENESS_BEFORE, with the prompt's movement and the
// thresholds in force; a `liveness-check` job finds the landmarks (in the face model's worker thread),
// judges them (liveness-check.ts), completes the row and audits it, and the desk is told over the
// socket. Postgres holds the request: a job lost with Redis is queued again by the session sweep.
import type { Db, Tx } from '../server/db/client.js';
import type { Capture, LivenessCheck } from '../server/db/generated/prisma/client.js';
import { AppError } from '../server/shared/errors.js';
import { appendAudit } from '../server/audit/audit.service.js';
import type { UserPrincipal } from '../server/auth/principal.js';
import { templateDocumentSchema } from '../server/checklists/template.schema.js';
import { CaptureAssistJob, type CaptureAssistOptions } from './capture-assist.js';
import { canReadSessionMedia } from './captures.service.js';
import type { LivenessObservation } from './face-matcher.js';
import { judgeLiveness, movementOf, type FaceMeasures, type LivenessThresholds } from './liveness-check.js';

export interface LivenessSettings {
  enabled: boolean;
  thresholds: LivenessThresholds;
}

/** What finds the landmarks of two frames; FaceMatcher in production and tests. */
export interface LandmarkFinder {
  landmarks(beforeImage: Uint8Array, actionImage: Uint8Array): Promise<LivenessObservation>;
}

export const livenessJobId = (livenessCheckId: string) => `liveness-check-${livenessCheckId}`;

const thresholdsOf = (c: LivenessCheck): LivenessThresholds => ({
  yawChangeDeg: c.yawChangeDeg,
  pitchChange: c.pitchChange,
  eyesClosedBelow: c.eyesClosedBelow,
  eyesOpenAt: c.eyesOpenAt,
  mouthOpenAt: c.mouthOpenAt,
  mouthClosedBelow: c.mouthClosedBelow,
});

const frameDto = (faceCount: number | null, yawDeg: number | null, pitch: number | null, ear: number | null, mouth: number | null) => ({
  faceCount,
  measures: yawDeg === null || pitch === null || ear === null || mouth === null ? null : { yawDeg, pitch, ear, mouth },
});

/** Every view of a check (desk, review, evidence) shows the same figures. */
export const livenessCheckDto = (c: LivenessCheck) => ({
  id: c.id,
  sessionId: c.sessionId,
  beforeCaptureId: c.beforeCaptureId,
  actionCaptureId: c.actionCaptureId,
  promptId: c.promptId,
  movement: c.movement,
  status: c.status,
  result: c.result,
  before: frameDto(c.beforeFaceCount, c.beforeYawDeg, c.beforePitch, c.beforeEar, c.beforeMouth),
  action: frameDto(c.actionFaceCount, c.actionYawDeg, c.actionPitch, c.actionEar, c.actionMouth),
  thresholds: thresholdsOf(c),
  model: c.modelName && c.modelVersion ? { name: c.modelName, version: c.modelVersion } : null,
  failure: c.failure,
  createdAt: c.createdAt.toISOString(),
  completedAt: c.completedAt?.toISOString() ?? null,
});

const measured = (side: 'before' | 'action', m: FaceMeasures | null) =>
  side === 'before'
    ? { beforeYawDeg: m?.yawDeg ?? null, beforePitch: m?.pitch ?? null, beforeEar: m?.ear ?? null, beforeMouth: m?.mouth ?? null }
    : { actionYawDeg: m?.yawDeg ?? null, actionPitch: m?.pitch ?? null, actionEar: m?.ear ?? null, actionMouth: m?.mouth ?? null };

/** store, enqueue (a check's id and job id) and log: as for every capture assist. */
export interface LivenessServiceOptions extends Pick<CaptureAssistOptions, 'store' | 'enqueue' | 'log'> {
  db: Db;
  finder: LandmarkFinder;
  settings: LivenessSettings;
  /** A check reached DONE or FAILED (the desk is told). */
  onCompleted: (check: LivenessCheck) => void;
}

type PendingCheck = LivenessCheck & { beforeCapture: Capture; actionCapture: Capture };

export class LivenessService extends CaptureAssistJob<PendingCheck> {
  private readonly db: Db;
  private readonly finder: LandmarkFinder;
  private readonly settings: LivenessSettings;
  /** Told after a check completed (the socket event). */
  private readonly onCompleted: (check: LivenessCheck) => void;

  constructor(options: LivenessServiceOptions) {
    super({ name: 'liveness check', jobIdOf: livenessJobId, store: options.store, enqueue: options.enqueue, log: options.log });
    this.db = options.db;
    this.finder = options.finder;
    this.settings = options.settings;
    this.onCompleted = options.onCompleted;
  }

  /**
   * In the capture's transaction: a LIVENESS_ACTION is checked against the newest LIVENESS_BEFORE of
   * the session. Returns the new check's id, for queueing after commit.
   */
  async pairInTransaction(tx: Tx, capture: Capture): Promise<string | undefined> {
    if (!this.settings.enabled || capture.kind !== 'LIVENESS_ACTION') return undefined;
    const before = await tx.capture.findFirst({ where: { sessionId: capture.sessionId, kind: 'LIVENESS_BEFORE' }, orderBy: [{ createdAt: 'desc' }, { id: 'desc' }] });
    if (!before) return undefined;
    const session = await tx.verificationSession.findUniqueOrThrow({ where: { id: capture.sessionId }, select: { livenessPromptId: true, template: { select: { definition: true } } } });
    const template = templateDocumentSchema.safeParse(session.template.definition);
    const prompt = template.success && session.livenessPromptId ? template.data.livenessPool?.find((p) => p.id === session.livenessPromptId) : undefined;
    const check = await tx.livenessCheck.create({
      data: {
        sessionId: capture.sessionId,
        beforeCaptureId: before.id,
        actionCaptureId: capture.id,
        promptId: session.livenessPromptId,
        // A template that does not list the drawn prompt still names it: the default pools' ids are known.
        movement: movementOf(prompt ?? (session.livenessPromptId ? { id: session.livenessPromptId } : undefined)),
        ...this.settings.thresholds,
      },
    });
    return check.id;
  }

  protected async pendingSince(before: Date): Promise<string[]> {
    const rows = await this.db.livenessCheck.findMany({ where: { status: 'PENDING', createdAt: { lt: before } }, select: { id: true }, take: 100, orderBy: { createdAt: 'asc' } });
    return rows.map((r) => r.id);
  }

  protected load(livenessCheckId: string): Promise<PendingCheck | null> {
    return this.db.livenessCheck.findUnique({ where: { id: livenessCheckId }, include: { beforeCapture: true, actionCapture: true } });
  }

  protected async fail(check: PendingCheck, failure: string): Promise<void> {
    await this.complete(check, { status: 'FAILED', failure });
  }

  protected async check(check: PendingCheck): Promise<void> {
    const [beforeImage, actionImage] = await Promise.all([this.image(check.beforeCapture), this.image(check.actionCapture)]);
    const seen = await this.finder.landmarks(beforeImage, actionImage);
    const movement = check.movement as Parameters<typeof judgeLiveness>[0];
    const verdict = judgeLiveness(movement, seen.before, seen.action, thresholdsOf(check));
    await this.complete(check, {
      status: 'DONE',
      result: verdict.result,
      beforeFaceCount: seen.before.faceCount,
      actionFaceCount: seen.action.faceCount,
      ...measured('before', verdict.before),
      ...measured('action', verdict.action),
      modelName: seen.model.name,
      modelVersion: seen.model.version,
      failure: seen.before.unreadable ?? seen.action.unreadable ?? null,
    });
  }

  private async complete(check: LivenessCheck, data: Partial<Pick<LivenessCheck, 'result' | 'beforeFaceCount' | 'actionFaceCount' | 'beforeYawDeg' | 'actionYawDeg' | 'beforePitch' | 'actionPitch' | 'beforeEar' | 'actionEar' | 'beforeMouth' | 'actionMouth' | 'modelName' | 'modelVersion' | 'failure'>> & { status: 'DONE' | 'FAILED' }): Promise<void> {
    const completed = await this.db.$transaction(async (tx) => {
      const { count } = await tx.livenessCheck.updateMany({ where: { id: check.id, status: 'PENDING' }, data: { ...data, completedAt: new Date() } });
      if (count === 0) return undefined;
      const row = await tx.livenessCheck.findUniqueOrThrow({ where: { id: check.id } });
      const dto = livenessCheckDto(row);
      await appendAudit(tx, {
        actor: { type: 'SYSTEM', id: 'liveness-check' },
        entity: { type: 'liveness_check', id: check.id },
        event: {
          action: 'liveness_check.completed',
          v: 1,
          data: {
            sessionId: check.sessionId,
            beforeCaptureId: check.beforeCaptureId,
            actionCaptureId: check.actionCaptureId,
            promptId: check.promptId,
            movement: check.movement,
            status: data.status,
            result: data.result ?? null,
            before: dto.before.measures,
            action: dto.action.measures,
            thresholds: dto.thresholds,
            model: dto.model ? `${dto.model.name}; ${dto.model.version}` : null,
          },
        },
        requestId: `liveness-check-${check.id}`,
      });
      return row;
    });
    if (completed) this.onCompleted(completed);
  }

  /** The session's checks, newest first (assigned agent, supervisors, admins, auditors). */
  async list(sessionId: string, principal: UserPrincipal): Promise<LivenessCheck[]> {
    const session = await this.db.verificationSession.findUnique({ where: { id: sessionId }, select: { assignedAgentId: true } });
    if (!session || !canReadSessionMedia(principal, session)) throw new AppError('NOT_FOUND', `No session ${sessionId}`);
    return this.db.livenessCheck.findMany({ where: { sessionId }, orderBy: [{ createdAt: 'desc' }, { id: 'desc' }] });
  }
}
