// Audited playback of verified recordings: byte ranges streamed from the object store, or a
// short-lived presigned GET URL. Every access is written to the audit chain before a byte (or the
// URL) leaves the server, so the log can never miss a viewing that happened.
import type { Readable } from 'node:stream';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { Db } from '../server/db/client.js';
import type { Config } from '../server/config.js';
import type { VerificationSession } from '../server/db/generated/prisma/client.js';
import { AppError } from '../server/shared/errors.js';
import { actorOf, appendAudit } from '../server/audit/audit.service.js';
import type { UserPrincipal } from '../server/auth/principal.js';
import type { RecordingStore } from './object-store.js';

export type PlaybackSettings = Config['recordings']['playback'];

const DAY_MS = 86_400_000;
const PLAYABLE_STATES = new Set(['VERIFIED', 'RETAINED']);
// The chain keeps data for years: a presigned request's Range header is not validated, so cap it.
const MAX_AUDITED_RANGE = 64;

// ---------------------------------------------------------------------------------------------
// Range: header parsing (pure)

/**
 * What a `Range` header asks of an object of `size` bytes. One `bytes=` range only: `a-b`, `a-` or
 * `-n`. Everything else (other units, several ranges, garbage, a start past the end) is
 * unsatisfiable: RFC 9110 would let us ignore a malformed header and send the whole file, but an
 * explicit 416 tells a buggy player what went wrong instead of silently streaming gigabytes.
 */
export type RangeRequest =
  | { kind: 'whole' }
  | { kind: 'partial'; start: number; end: number }
  | { kind: 'unsatisfiable'; reason: string };

const RANGE_SPEC = /^bytes[ \t]*=[ \t]*(\d*)-(\d*)[ \t]*$/i;

export function parseRange(header: string | undefined, size: number): RangeRequest {
  if (header === undefined || header.trim() === '') return { kind: 'whole' };
  if (header.includes(',')) return { kind: 'unsatisfiable', reason: 'only a single byte range is supported' };
  const match = RANGE_SPEC.exec(header.trim());
  if (!match) return { kind: 'unsatisfiable', reason: 'expected bytes=start-end, bytes=start- or bytes=-suffix' };
  const [, first = '', last = ''] = match;
  if (first === '' && last === '') return { kind: 'unsatisfiable', reason: 'a range needs a start or a suffix length' };
  // Digits only, so these are non-negative numbers. Huge ones lose precision or become Infinity,
  // which still compares right: such a start is past the end, such an end or suffix means "all".
  const start = first === '' ? undefined : Number(first);
  const end = last === '' ? undefined : Number(last);

  if (start === undefined) {
    // Suffix: the last `suffix` bytes (the whole object when it is shorter).
    const suffix = end ?? 0;
    if (suffix === 0 || size === 0) return { kind: 'unsatisfiable', reason: 'the suffix selects no bytes' };
    return { kind: 'partial', start: Math.max(0, size - suffix), end: size - 1 };
  }
  if (end !== undefined && end < start) return { kind: 'unsatisfiable', reason: 'the range ends before it starts' };
  if (start >= size) return { kind: 'unsatisfiable', reason: `the range starts at or after the end (${size} bytes)` };
  return { kind: 'partial', start, end: Math.min(end ?? size - 1, size - 1) };
}

// ---------------------------------------------------------------------------------------------
// Who may play (pure)

export type PlaybackAccess = 'allowed' | 'agent-window-closed' | 'not-visible';

/**
 * Auditors, supervisors and admins may always play. The agent who ran the session may replay it
 * while it is going and for `agentDays` after it completed (to write up notes, answer a
 * complaint). Any other agent is told the recording does not exist, like the rest of the API does
 * for sessions they are not assigned to, so recording ids cannot be probed.
 */
export function playbackAccess(
  principal: UserPrincipal,
  session: Pick<VerificationSession, 'assignedAgentId' | 'completedAt'>,
  now: Date,
  agentDays: number,
): PlaybackAccess {
  if (principal.roles.some((r) => r === 'AUDITOR' || r === 'SUPERVISOR' || r === 'ADMIN')) return 'allowed';
  if (session.assignedAgentId !== principal.userId) return 'not-visible';
  if (!session.completedAt) return 'allowed';
  return now.getTime() <= session.completedAt.getTime() + agentDays * DAY_MS ? 'allowed' : 'agent-window-closed';
}

// ---------------------------------------------------------------------------------------------
// The service

/** Players need a media type; egress names its files by what they hold (server/livekit/identities.ts). */
function contentTypeOf(objectKey: string): string {
  if (objectKey.endsWith('.mp4')) return 'video/mp4';
  if (objectKey.endsWith('.ogg')) return 'audio/ogg';
  return 'application/octet-stream';
}

export interface PlayableRecording {
  id: string;
  objectKey: string;
  size: number;
  contentType: string;
}

export type Playback =
  | { kind: 'presigned'; url: string; expiresAt: Date }
  | { kind: 'unsatisfiable'; reason: string }
  | {
      kind: 'stream';
      /** Undefined for the whole object (200), the served inclusive range otherwise (206). */
      range: { start: number; end: number } | undefined;
      body: Readable;
    };

export interface PlaybackOptions {
  /** The clock for the agent's window and for signing URLs; tests use it to sign in the past. */
  now?: () => Date;
}

export class PlaybackService {
  private readonly now: () => Date;

  private readonly db: Db;
  private readonly store: RecordingStore;
  private readonly settings: PlaybackSettings;

  constructor(options: { db: Db; store: RecordingStore; settings: PlaybackSettings } & PlaybackOptions) {
    this.db = options.db;
    this.store = options.store;
    this.settings = options.settings;
    this.now = options.now ?? (() => new Date());
  }

  get mode(): PlaybackSettings['mode'] {
    return this.settings.mode;
  }

  /** Loads the recording and refuses anyone who may not play it, or a recording not verified yet. */
  async authorize(recordingId: string, principal: UserPrincipal): Promise<PlayableRecording> {
    const recording = await this.db.recording.findUnique({
      where: { id: recordingId },
      include: { attempt: { select: { session: { select: { assignedAgentId: true, completedAt: true } } } } },
    });
    if (!recording) throw new AppError('NOT_FOUND', `No recording ${recordingId}`);
    switch (playbackAccess(principal, recording.attempt.session, this.now(), this.settings.agentDays)) {
      case 'allowed':
        break;
      case 'not-visible':
        throw new AppError('NOT_FOUND', `No recording ${recordingId}`);
      case 'agent-window-closed':
        throw new AppError('FORBIDDEN', `Agents may replay their own sessions for ${this.settings.agentDays} days after completion; ask a supervisor`);
    }
    if (!PLAYABLE_STATES.has(recording.state)) {
      // The error table has no recording-specific code yet; the session-state one is the closest.
      throw new AppError('RECORDING_NOT_PLAYABLE', `Recording ${recordingId} is ${recording.state}: only VERIFIED or RETAINED recordings can be played`);
    }
    const size = recording.sizeBytes ?? (await this.store.head(recording.objectKey))?.size;
    if (size === undefined) throw new Error(`recording ${recordingId} is ${recording.state} but its object ${recording.objectKey} is missing`);
    return { id: recording.id, objectKey: recording.objectKey, size: Number(size), contentType: recording.contentType ?? contentTypeOf(recording.objectKey) };
  }

  /**
   * One access: a presigned URL, or the stream for the asked range. The audit event commits before
   * anything is returned; an unsatisfiable range serves nothing and is not audited.
   */
  async open(recording: PlayableRecording, principal: UserPrincipal, rangeHeader: string | undefined, requestId: string): Promise<Playback> {
    if (this.settings.mode === 'presigned') return this.presign(recording, principal, rangeHeader, requestId);

    const range = parseRange(rangeHeader, recording.size);
    if (range.kind === 'unsatisfiable') return { kind: 'unsatisfiable', reason: range.reason };
    const wanted = range.kind === 'partial' ? { start: range.start, end: range.end } : undefined;
    const length = wanted ? wanted.end - wanted.start + 1 : recording.size;

    // Open the object first: a store failure then leaves no audit row for a viewing that never was.
    const object = await this.store.read(recording.objectKey, wanted);
    try {
      // Never send bytes other than those the headers announce: a store that ignored the range, or
      // an object that changed since it was verified, is an error, not a response.
      const total = object.contentRange ? Number(object.contentRange.split('/')[1]) : object.contentLength;
      if (object.contentLength !== length || total !== recording.size) {
        throw new Error(`recording ${recording.id}: asked for ${length} of ${recording.size} bytes, the store answered ${object.contentLength} of ${total}`);
      }
      await this.audit(recording.id, principal, requestId, { via: 'stream', range: rangeHeader ?? null, bytes: String(length) });
    } catch (error) {
      object.body.destroy();
      throw error;
    }
    return { kind: 'stream', range: wanted, body: object.body };
  }

  private async presign(recording: PlayableRecording, principal: UserPrincipal, rangeHeader: string | undefined, requestId: string): Promise<Playback> {
    // SigV4 dates have whole seconds: expiresAt is exactly when the store starts refusing the URL.
    const signingDate = new Date(Math.floor(this.now().getTime() / 1000) * 1000);
    const ttl = this.settings.presignedTtlSeconds;
    const url = await getSignedUrl(this.store.s3, new GetObjectCommand({ Bucket: this.store.bucket, Key: recording.objectKey }), { expiresIn: ttl, signingDate });
    // The player fetches the ranges from the store directly, so bytes are unknown here.
    await this.audit(recording.id, principal, requestId, { via: 'presigned', range: rangeHeader?.slice(0, MAX_AUDITED_RANGE) ?? null, bytes: null });
    return { kind: 'presigned', url, expiresAt: new Date(signingDate.getTime() + ttl * 1000) };
  }

  private async audit(recordingId: string, principal: UserPrincipal, requestId: string, data: { via: 'stream' | 'presigned'; range: string | null; bytes: string | null }) {
    await this.db.$transaction((tx) =>
      appendAudit(tx, { actor: actorOf(principal), entity: { type: 'recording', id: recordingId }, event: { action: 'recording.accessed', v: 1, data }, requestId }),
    );
  }
}
