// Room composite egress to S3, with livekit/egress' lifecycle and webhooks:
//   Start → EGRESS_STARTING (egress_started) → EGRESS_ACTIVE (egress_updated)
//   StopEgress or room closed → EGRESS_ENDING (egress_updated) → upload → EGRESS_COMPLETE (egress_ended)
//   failures → EGRESS_FAILED / EGRESS_ABORTED (egress_ended) with `error` and `errorCode`.
// While it records, the recorder is in the room as a hidden participant of kind EGRESS whose identity is
// the egress id (as in livekit/protocol's BuildEgressToken), so participant_joined and participant_left
// fire for it. The recording is a real media file from fixtures/, PUT through the S3 API
// the request names; the reported size is the uploaded byte count and times are Unix nanoseconds.
// livekit-server forgets an egress 24 hours after it ended (redisstore.go CleanEndedEgress, run every
// 30 minutes); so does this, in simulated time.
import {
  DisconnectReason,
  EgressInfo,
  EgressSourceType,
  EgressStatus,
  FileInfo,
  ParticipantInfo_Kind,
  Room,
  WebhookEvent,
} from '@livekit/protocol';
import type { EncodedFileOutput, ListEgressRequest, RoomCompositeEgressRequest, S3Upload, StopEgressRequest } from '@livekit/protocol';
import type { SimClock } from './clock.js';
import { wallClock } from './clock.js';
import type { PlannedFile } from './egress-files.js';
import { manifestJson, manifestKey, planFile, s3Location } from './egress-files.js';
import { describeS3Error, loadFixture, putToS3 } from './egress-storage.js';
import type { EgressFault, FaultPlan } from './faults.js';
import { newId } from './ids.js';
import type { RoomManager } from './rooms.js';
import { permissionFromGrant } from './rooms.js';
import { TwirpError } from './twirp.js';
import type { WebhookDispatcher } from './webhooks.js';

/** Simulated seconds a room composite egress needs to load its recorder page and start recording. */
const START_UP_SECONDS = 1.5;

// livekit/protocol livekit_egress.go
const MSG_STOPPED_BEFORE_STARTED = 'Stop called before pipeline could start';
const END_REASON_API = 'End reason: StopEgress API';
const END_REASON_SOURCE_CLOSED = 'End reason: Source closed';
const END_REASON_FAILURE = 'End reason: Failure';

// livekit-server pkg/service/redisstore.go egressWorker / CleanEndedEgress.
const RETENTION_SECONDS = 24 * 60 * 60;
const SWEEP_INTERVAL_SECONDS = 30 * 60;

/**
 * Which pipeline livekit/egress would run (pkg/config/pipeline.go): `audio` is its light, Chrome-free
 * pipeline, taken only for audio_only with no layout; `web` renders the room's layout in Chrome.
 */
export type EgressPipeline = 'audio' | 'web';

export interface EgressSnapshot {
  info: EgressInfo;
  pipeline: EgressPipeline;
}

interface EgressJob {
  info: EgressInfo;
  file: FileInfo;
  plan: PlannedFile;
  upload: S3Upload;
  disableManifest: boolean;
  pipeline: EgressPipeline;
  fault: EgressFault | undefined;
  cancels: (() => void)[];
  /** Simulated time (SimClock.now) the egress ended, from which it is kept for RETENTION_SECONDS. */
  endedAtSimSeconds: number | undefined;
}

export class EgressService {
  private readonly jobs = new Map<string, EgressJob>();
  private readonly finishing = new Set<Promise<void>>();
  private cancelSweep: (() => void) | undefined;
  private stopped = false;

  constructor(
    private readonly rooms: RoomManager,
    private readonly webhooks: WebhookDispatcher,
    private readonly clock: SimClock,
    private readonly faults: FaultPlan,
  ) {
    rooms.onRoomFinished((room) => this.roomClosed(room.name));
  }

  startRoomComposite(request: RoomCompositeEgressRequest): EgressInfo {
    const room = this.rooms.findRoom(request.roomName);
    if (room === undefined) throw new TwirpError('not_found', 'requested room does not exist');
    const output = fileOutputOf(request);
    if (output.output.case !== 's3') {
      throw new TwirpError('unimplemented', 'livekit-sim stores recordings through S3Upload only');
    }
    const plan = planFile({
      fileType: output.fileType,
      filepath: output.filepath,
      audioOnly: request.audioOnly,
      videoOnly: request.videoOnly,
      roomName: room.name,
      roomId: room.sid,
      now: new Date(),
    });
    const egressId = newId('EG_');
    const file = new FileInfo({ filename: plan.storageKey });
    const info = new EgressInfo({
      egressId,
      roomId: room.sid,
      roomName: room.name,
      sourceType: EgressSourceType.WEB,
      status: EgressStatus.EGRESS_STARTING,
      updatedAt: wallClock.unixNanos(),
      request: { case: 'roomComposite', value: redacted(request) },
    });
    const job: EgressJob = {
      info,
      file,
      plan,
      upload: output.output.value.clone(),
      disableManifest: output.disableManifest,
      pipeline: request.audioOnly && request.layout === '' ? 'audio' : 'web',
      fault: this.faults.takeEgressFault(room.name),
      cancels: [],
      endedAtSimSeconds: undefined,
    };
    this.jobs.set(egressId, job);
    this.notify('egress_started', job);
    job.cancels.push(this.clock.after(START_UP_SECONDS, () => this.activate(job)));
    return snapshot(job);
  }

  stopEgress(request: StopEgressRequest): EgressInfo {
    const job = this.jobs.get(request.egressId);
    if (job === undefined) throw new TwirpError('not_found', 'egress does not exist');
    switch (job.info.status) {
      case EgressStatus.EGRESS_STARTING:
        this.abort(job, END_REASON_API);
        return snapshot(job);
      case EgressStatus.EGRESS_ACTIVE:
        this.beginEnding(job, END_REASON_API);
        return snapshot(job);
      default:
        throw new TwirpError(
          'failed_precondition',
          `egress with status ${EgressStatus[job.info.status]} cannot be stopped`,
        );
    }
  }

  /** livekit-server's IOInfoService.ListEgress: an id is looked up on its own, ignoring `roomName` and `active`. */
  listEgress(request: ListEgressRequest): EgressInfo[] {
    if (request.egressId !== '') {
      const job = this.jobs.get(request.egressId);
      if (job === undefined) throw new TwirpError('not_found', 'egress does not exist');
      return [snapshot(job)];
    }
    return [...this.jobs.values()]
      .filter((job) => request.roomName === '' || job.info.roomName === request.roomName)
      .filter((job) => !request.active || isRunning(job.info.status))
      .map(snapshot);
  }

  /** Every egress LiveKit still knows, with the pipeline it runs on (control API). */
  snapshots(): EgressSnapshot[] {
    return [...this.jobs.values()].map((job) => ({ info: snapshot(job), pipeline: job.pipeline }));
  }

  /** Control API: the recording pipeline breaks now. */
  failEgress(egressId: string, error: string): void {
    const job = this.jobs.get(egressId);
    if (job === undefined) throw new TwirpError('not_found', 'egress does not exist');
    if (!isRunning(job.info.status) || job.info.status === EgressStatus.EGRESS_ENDING) {
      throw new TwirpError('failed_precondition', `egress with status ${EgressStatus[job.info.status]} cannot fail now`);
    }
    this.failPipeline(job, error);
  }

  /** Resolves when every upload in flight has finished. */
  async settled(): Promise<void> {
    while (this.finishing.size > 0) await Promise.allSettled([...this.finishing]);
  }

  stop(): void {
    this.stopped = true;
    for (const job of this.jobs.values()) for (const cancel of job.cancels.splice(0)) cancel();
    this.cancelSweep?.();
    this.cancelSweep = undefined;
  }

  private activate(job: EgressJob): void {
    if (job.info.status !== EgressStatus.EGRESS_STARTING) return;
    const now = wallClock.unixNanos();
    job.info.status = EgressStatus.EGRESS_ACTIVE;
    job.info.startedAt = now;
    job.info.updatedAt = now;
    job.file.startedAt = now;
    this.joinRecorder(job);
    this.notify('egress_updated', job);
    const fault = job.fault;
    if (fault?.kind === 'fail') {
      job.cancels.push(this.clock.after(fault.afterSeconds ?? 0, () => this.failPipeline(job, fault.error ?? 'pipeline failure')));
    }
  }

  private abort(job: EgressJob, endReason: string): void {
    const now = wallClock.unixNanos();
    job.info.details = endReason;
    job.info.status = EgressStatus.EGRESS_ABORTED;
    job.info.error = MSG_STOPPED_BEFORE_STARTED;
    job.info.errorCode = 412;
    job.info.updatedAt = now;
    job.info.endedAt = now;
    for (const cancel of job.cancels.splice(0)) cancel();
    this.markEnded(job);
    this.notify('egress_ended', job);
  }

  private beginEnding(job: EgressJob, endReason: string): void {
    job.info.details = endReason;
    job.info.status = EgressStatus.EGRESS_ENDING;
    job.info.updatedAt = wallClock.unixNanos();
    for (const cancel of job.cancels.splice(0)) cancel();
    this.notify('egress_updated', job);
    this.leaveRoom(job);
    const finishing = this.finishRecording(job).finally(() => this.finishing.delete(finishing));
    this.finishing.add(finishing);
  }

  private async finishRecording(job: EgressJob): Promise<void> {
    const endedAt = wallClock.unixNanos();
    job.file.endedAt = endedAt;
    job.file.duration = endedAt - job.file.startedAt;
    try {
      const body = await loadFixture(job.plan.fixture);
      await putToS3(job.upload, {
        key: job.plan.storageKey,
        body,
        contentType: job.plan.outputType,
        revokedCredentials: job.fault?.kind === 'upload',
      });
      job.file.size = BigInt(body.byteLength);
      job.file.location = s3Location(job.upload, job.plan.storageKey);
      if (!job.disableManifest) await this.uploadManifest(job, endedAt);
    } catch (error) {
      this.settleFailed(job, `S3 upload failed: ${describeS3Error(error)}`, 400);
      return;
    }
    const now = wallClock.unixNanos();
    job.info.status = EgressStatus.EGRESS_COMPLETE;
    job.info.endedAt = now;
    job.info.updatedAt = now;
    this.markEnded(job);
    this.notify('egress_ended', job);
  }

  private async uploadManifest(job: EgressJob, endedAt: bigint): Promise<void> {
    const key = manifestKey(job.plan.storageKey, job.info.egressId);
    const body = manifestJson({
      egressId: job.info.egressId,
      roomId: job.info.roomId,
      roomName: job.info.roomName,
      startedAt: job.info.startedAt,
      endedAt,
      files: [{ filename: job.plan.storageKey, location: job.file.location }],
    });
    await putToS3(job.upload, { key, body: Buffer.from(body, 'utf8'), contentType: 'application/json' });
    job.info.manifestLocation = s3Location(job.upload, key);
  }

  private failPipeline(job: EgressJob, error: string): void {
    if (job.info.status !== EgressStatus.EGRESS_ACTIVE && job.info.status !== EgressStatus.EGRESS_STARTING) return;
    for (const cancel of job.cancels.splice(0)) cancel();
    this.settleFailed(job, error, 500);
    this.leaveRoom(job);
  }

  private settleFailed(job: EgressJob, error: string, errorCode: number): void {
    const now = wallClock.unixNanos();
    job.info.status = EgressStatus.EGRESS_FAILED;
    job.info.error = error;
    job.info.errorCode = errorCode;
    if (job.info.details === '') job.info.details = END_REASON_FAILURE;
    job.info.updatedAt = now;
    job.info.endedAt = now;
    this.markEnded(job);
    this.notify('egress_ended', job);
  }

  /** The recorder connects with the egress token: hidden, subscribe-only, kind EGRESS, identity = egress id. */
  private joinRecorder(job: EgressJob): void {
    if (this.rooms.findRoom(job.info.roomName) === undefined) return;
    this.rooms.join({
      room: job.info.roomName,
      identity: job.info.egressId,
      kind: ParticipantInfo_Kind.EGRESS,
      permission: permissionFromGrant({ canSubscribe: true, canPublish: false, canPublishData: false, hidden: true, recorder: true }),
      // Disconnected by the server (RemoveParticipant, DeleteRoom, room closed): the recorder page sees
      // the room go away and ends the recording.
      onRemoved: () => {
        if (job.info.status === EgressStatus.EGRESS_ACTIVE) this.beginEnding(job, END_REASON_SOURCE_CLOSED);
      },
    });
  }

  /** The recorder disconnects once its pipeline has stopped. */
  private leaveRoom(job: EgressJob): void {
    if (this.rooms.hasParticipant(job.info.roomName, job.info.egressId)) {
      this.rooms.leave(job.info.roomName, job.info.egressId, DisconnectReason.CLIENT_INITIATED);
    }
  }

  private markEnded(job: EgressJob): void {
    job.endedAtSimSeconds = this.clock.now();
    this.scheduleSweep();
  }

  private scheduleSweep(): void {
    // Uploads still finishing while the simulator stops must not leave a timer behind.
    if (this.cancelSweep !== undefined || this.stopped) return;
    this.cancelSweep = this.clock.after(SWEEP_INTERVAL_SECONDS, () => {
      this.cancelSweep = undefined;
      this.sweep();
    });
  }

  /** Forgets egresses that ended more than 24 h ago; runs every 30 min while any ended egress is kept. */
  private sweep(): void {
    const now = this.clock.now();
    let kept = false;
    for (const [egressId, job] of this.jobs) {
      if (job.endedAtSimSeconds === undefined) continue;
      if (now - job.endedAtSimSeconds > RETENTION_SECONDS) this.jobs.delete(egressId);
      else kept = true;
    }
    if (kept) this.scheduleSweep();
  }

  /** A room composite recording ends when its room closes. */
  private roomClosed(roomName: string): void {
    for (const job of this.jobs.values()) {
      if (job.info.roomName !== roomName) continue;
      if (job.info.status === EgressStatus.EGRESS_STARTING) this.abort(job, END_REASON_SOURCE_CLOSED);
      else if (job.info.status === EgressStatus.EGRESS_ACTIVE) this.beginEnding(job, END_REASON_SOURCE_CLOSED);
    }
  }

  private notify(event: 'egress_started' | 'egress_updated' | 'egress_ended', job: EgressJob): void {
    // Egress events carry a minimal room: its sid and name only.
    this.webhooks.emit(
      new WebhookEvent({
        event,
        room: new Room({ sid: job.info.roomId, name: job.info.roomName }),
        egressInfo: snapshot(job),
      }),
    );
  }
}

function isRunning(status: EgressStatus): boolean {
  return status === EgressStatus.EGRESS_STARTING || status === EgressStatus.EGRESS_ACTIVE || status === EgressStatus.EGRESS_ENDING;
}

function snapshot(job: EgressJob): EgressInfo {
  const info = job.info.clone();
  info.fileResults = [job.file.clone()];
  info.result = { case: 'file', value: job.file.clone() };
  return info;
}

function fileOutputOf(request: RoomCompositeEgressRequest): EncodedFileOutput {
  if (request.fileOutputs.length > 1) {
    throw new TwirpError('invalid_argument', 'request has missing or invalid field: multiple file outputs');
  }
  const file = request.fileOutputs[0] ?? (request.output.case === 'file' ? request.output.value : undefined);
  const otherOutputs =
    request.streamOutputs.length + request.segmentOutputs.length + request.imageOutputs.length > 0 ||
    request.output.case === 'stream' ||
    request.output.case === 'segments';
  if (otherOutputs) throw new TwirpError('unimplemented', 'livekit-sim records to file outputs only');
  if (file === undefined) throw new TwirpError('invalid_argument', 'request has missing or invalid field: output');
  return file;
}

// LiveKit stores and returns the request with storage credentials replaced by placeholders.
function redacted(request: RoomCompositeEgressRequest): RoomCompositeEgressRequest {
  const copy = request.clone();
  const files = [...copy.fileOutputs, ...(copy.output.case === 'file' ? [copy.output.value] : [])];
  for (const file of files) {
    if (file.output.case !== 's3') continue;
    const s3 = file.output.value;
    if (s3.accessKey !== '') s3.accessKey = '{access_key}';
    if (s3.secret !== '') s3.secret = '{secret}';
    if (s3.sessionToken !== '') s3.sessionToken = '{session_token}';
    if (s3.assumeRoleExternalId !== '') s3.assumeRoleExternalId = '{external_id}';
  }
  return copy;
}
