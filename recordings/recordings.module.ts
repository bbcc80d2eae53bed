// Recordings and what is captured during a session: finalize (size, SHA-256), integrity re-checks,
// retention (Object Lock) of recordings and contracts, playback, snapshots, face match, liveness,
// and the evidence package.
import type { AuthService } from '../server/auth/auth.service.js';
import type { Contribution, FeatureContext } from '../server/infrastructure.js';
import { jobCatalog } from '../server/jobs/catalog.js';
import { CaptureService } from './captures.service.js';
import { captureUploadRouter } from './captures.routes.js';
import { ContractRetention } from './contract-retention.service.js';
import { EvidencePdfService } from './evidence-pdf.service.js';
import { EvidenceService } from './evidence.service.js';
import { FaceMatchService } from './face-match.service.js';
import { FaceMatcher } from './face-matcher.js';
import { finalizeJobId, RecordingFinalizer } from './finalize.service.js';
import { IntegrityChecker } from './integrity.service.js';
import { LivenessService } from './liveness.service.js';
import { PlaybackService } from './playback.service.js';
import { recordingStartJobId, type RecordingService } from './recording.service.js';
import { RetentionService } from './retention.service.js';

/** Sweep job ids change this often, so a sweep job that failed never blocks a later one. */
const SWEEP_BUCKET_MS = 600_000;

/** A recording asked for this long ago with no egress yet, and no start job known, is asked for again. */
const START_LOST_AFTER_MS = 60_000;

/** `recorder` starts attempts' recordings (LiveKit's egress); absent when LiveKit is not configured. */
export function recordingsModule(ctx: FeatureContext, { auth, recorder }: { auth: AuthService; recorder: RecordingService | undefined }) {
  const { config, log, db, store, queues, realtime, signing, auditCheckpoints, jobs, events, signals } = ctx;
  const retentionSettings = { rules: config.recordings.retention, objectLockMode: config.recordings.objectLockMode };
  const contractRetention = new ContractRetention({ db, store, settings: retentionSettings, log });
  const retention = new RetentionService({ db, store, settings: retentionSettings, log, follower: contractRetention });
  const finalizer = new RecordingFinalizer({ db, store, realtime: realtime.emitter, log });
  const integrity = new IntegrityChecker({ db, store, realtime: realtime.emitter, log });
  const playback = new PlaybackService({ db, store, settings: config.recordings.playback });
  const evidence = new EvidenceService(db, signing.signer, auditCheckpoints);
  const evidencePdf = new EvidencePdfService({ evidence, settings: { fontPath: config.recordings.evidencePdfFont }, log, signer: signing.signer });
  // The face-match model runs in a worker thread, started by the first comparison (on worker nodes).
  const faceMatcher = new FaceMatcher();
  const faceMatches = new FaceMatchService({
    db, store, comparer: faceMatcher, settings: config.recordings.faceMatch, log,
    enqueue: (faceMatchId, jobId) => queues.enqueue('face-match', { faceMatchId }, { jobId }),
    onCompleted: (match) =>
      realtime.emitter.toSessionWatchers(match.sessionId, 'face-match:changed', { v: 1, sessionId: match.sessionId, faceMatchId: match.id, status: match.status === 'FAILED' ? 'FAILED' : 'DONE' }, { andSupervisors: false }),
  });
  // The liveness check's landmarks come from the same worker thread as the face match.
  const liveness = new LivenessService({
    db, store, finder: faceMatcher, settings: config.recordings.liveness, log,
    enqueue: (livenessCheckId, jobId) => queues.enqueue('liveness-check', { livenessCheckId }, { jobId }),
    onCompleted: (check) =>
      realtime.emitter.toSessionWatchers(check.sessionId, 'liveness:changed', { v: 1, sessionId: check.sessionId, livenessCheckId: check.id, status: check.status === 'FAILED' ? 'FAILED' : 'DONE' }, { andSupervisors: false }),
  });
  const captures = new CaptureService({ db, store, settings: { maxBytes: config.recordings.captureMaxBytes }, pairing: [faceMatches, liveness] });

  // An uploaded recording is checked (size, SHA-256) by a job that retries until the store answers.
  signals.listen(async (signals) => {
    for (const signal of signals) {
      if (signal.kind === 'recording' && signal.state === 'UPLOADED') {
        await queues.enqueue('recording-finalize', { recordingId: signal.recordingId }, { jobId: finalizeJobId(signal.recordingId) });
      }
    }
  });
  // Retention counts from the loan's maturity: when the LOS changes it, recompute (retried by the queue).
  // The change is committed by then: if the queue cannot take the job, the hourly sweep catches up.
  events.subscribeCommitted('loan-file.maturity-changed', async ({ loanFileId, version }) => {
    try {
      await queues.enqueue('retention-recompute', { loanFileId }, { jobId: `retention-recompute-${loanFileId}-v${version}` });
    } catch (error) {
      log.error({ loanFileId, err: error }, 'could not queue the retention recomputation; the retention sweep will');
    }
  });

  // Queued by the session engine after the transition that answers a call or begins a video.
  jobs.handle('recording-start', async ({ sessionId, attemptId }, { attempt }) => {
    if (!recorder) return;
    try {
      await recorder.startForAttempt(attemptId, { ifLive: true });
    } catch (error) {
      if (attempt >= jobCatalog['recording-start'].attempts) {
        realtime.emitter.toSupervisors('alert', { v: 1, kind: 'recording_not_started', sessionId, message: 'The recording could not be started' });
      }
      throw error;
    }
  });
  jobs.handle('recording-finalize', async ({ recordingId }) => {
    const result = await finalizer.finalize(recordingId);
    if (result.recording?.state === 'VERIFIED') await retention.retain(recordingId);
  });
  jobs.handle('recording-integrity', async ({ recordingId }) => void (await integrity.recheck(recordingId)));
  jobs.handle('recording-integrity-sample', async () => void (await integrity.sample(config.recordings.integrity.sampleSize)));
  jobs.repeat('recording-integrity-sample', config.recordings.integrity.intervalMs);
  jobs.handle('retention-recompute', async ({ loanFileId }) => {
    await retention.recomputeForLoanFile(loanFileId);
    await contractRetention.followLoanFile(loanFileId);
  });
  jobs.handle('retention-sweep', async () => {
    await retention.retainPending();
    await retention.recomputeRecentlyChanged();
    await retention.sweep();
    await contractRetention.sweep();
  });
  jobs.repeat('retention-sweep', 3_600_000);
  jobs.handle('face-match', ({ faceMatchId }, { attempt }) => faceMatches.run(faceMatchId, { finalTry: attempt >= jobCatalog['face-match'].attempts }));
  jobs.handle('liveness-check', ({ livenessCheckId }, { attempt }) => liveness.run(livenessCheckId, { finalTry: attempt >= jobCatalog['liveness-check'].attempts }));
  jobs.sweep('recordings', async (now) => {
    const bucket = Math.floor(now.getTime() / SWEEP_BUCKET_MS);
    await faceMatches.requeueStale(now, bucket);
    await liveness.requeueStale(now, bucket);
    for (const recordingId of await finalizer.sweep()) {
      await queues.enqueue('recording-finalize', { recordingId }, { jobId: `${finalizeJobId(recordingId)}-sweep-${bucket}` });
    }
    // A start job lost between commit and enqueue (or with Redis) is queued again under its own id:
    // one still waiting, running, done or failed (and alerted) is left as it is.
    for (const { sessionId, attemptId } of recorder ? await recorder.awaitingStart(new Date(now.getTime() - START_LOST_AFTER_MS)) : []) {
      await queues.enqueue('recording-start', { sessionId, attemptId }, { jobId: recordingStartJobId(attemptId) });
    }
  });

  const contribution: Contribution = {
    checks: [
      // Who keeps recordings from being deleted early: the object store (Object Lock) or facesign itself.
      { name: 'retention', required: false, check: async () => void (await retention.retentionStatus()), info: () => retention.retentionStatus() },
      // The evidence PDF embeds a CJK font; without it only the JSON manifest can be exported.
      { name: 'evidencePdfFont', required: false, check: () => evidencePdf.checkFont(), info: () => evidencePdf.fontInfo() },
    ],
    // Snapshot uploads carry a raw image body; everything else under /api/sessions passes through.
    rawRouters: [{ path: '/api/sessions', router: captureUploadRouter(captures, auth) }],
    stop: () => faceMatcher.close(),
  };
  return { retention, contractRetention, finalizer, integrity, playback, evidence, evidencePdf, faceMatches, liveness, captures, contribution };
}
