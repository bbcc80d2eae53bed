// ID and face snapshots the agent takes during a video session. The image type is decided by the
// bytes, never by the Content-Type header or a file name, so a page disguised as a .png cannot be
// stored and later served back as an image. Each snapshot carries its SHA-256 and its offset into
// the attempt's recording, and every store and every read is audited.
import { createHash, randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import { crc32 } from 'node:zlib';
import type { Db, Tx } from '../server/db/client.js';
import type { Capture, FaceMatch, VerificationSession } from '../server/db/generated/prisma/client.js';
import type { CaptureKind } from '../server/db/generated/prisma/enums.js';
import { AppError } from '../server/shared/errors.js';
import { actorOf, appendAudit } from '../server/audit/audit.service.js';
import type { UserPrincipal } from '../server/auth/principal.js';
import type { RecordingStore } from './object-store.js';

export const CAPTURE_KINDS = ['ID_FRONT', 'ID_BACK', 'FACE', 'OTHER', 'LIVENESS_BEFORE', 'LIVENESS_ACTION'] as const satisfies readonly CaptureKind[];
const CAPTURING_STATES = new Set(['IN_PROGRESS', 'WRAP_UP']);

/** Assigned agent, supervisors, admins and auditors; nobody else learns the session exists. */
export function canReadSessionMedia(principal: UserPrincipal, session: Pick<VerificationSession, 'assignedAgentId'>): boolean {
  return principal.roles.some((r) => r === 'SUPERVISOR' || r === 'ADMIN' || r === 'AUDITOR') || session.assignedAgentId === principal.userId;
}

// ---------------------------------------------------------------------------------------------
// Content sniffing (pure)

export type CaptureImage = { contentType: 'image/png'; extension: 'png' } | { contentType: 'image/jpeg'; extension: 'jpg' };

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const PNG_IEND = Buffer.from([0, 0, 0, 0, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82]);
const PNG_MIN_LENGTH = PNG_SIGNATURE.length + 25 + PNG_IEND.length; // signature, IHDR chunk, IEND chunk

/**
 * PNG: the signature, then a well-formed IHDR chunk (13 bytes, matching CRC, non-zero size), and
 * the IEND chunk last. JPEG: SOI and a marker (FF D8 FF xx), and EOI (FF D9) last. Checking both
 * ends also refuses truncated uploads. This is not a decoder: it proves the upload is an image
 * container of the type we will serve it as.
 */
export function detectImage(bytes: Buffer): CaptureImage | undefined {
  if (isPng(bytes)) return { contentType: 'image/png', extension: 'png' };
  if (isJpeg(bytes)) return { contentType: 'image/jpeg', extension: 'jpg' };
  return undefined;
}

function isPng(bytes: Buffer): boolean {
  if (bytes.length < PNG_MIN_LENGTH || !bytes.subarray(0, 8).equals(PNG_SIGNATURE)) return false;
  if (bytes.readUInt32BE(8) !== 13 || bytes.toString('latin1', 12, 16) !== 'IHDR') return false;
  if (crc32(bytes.subarray(12, 29)) !== bytes.readUInt32BE(29)) return false;
  if (bytes.readUInt32BE(16) === 0 || bytes.readUInt32BE(20) === 0) return false;
  return bytes.subarray(bytes.length - PNG_IEND.length).equals(PNG_IEND);
}

function isJpeg(bytes: Buffer): boolean {
  if (bytes.length < 6 || bytes[0] !== 0xff || bytes[1] !== 0xd8 || bytes[2] !== 0xff) return false;
  const marker = bytes[3] ?? 0;
  // A segment marker (APPn, DQT, SOFn, COM, …) must follow SOI; 0xFF would be fill, 0x00 is no marker.
  if (marker < 0xc0 || marker === 0xff) return false;
  return bytes[bytes.length - 2] === 0xff && bytes[bytes.length - 1] === 0xd9;
}

// ---------------------------------------------------------------------------------------------
// The service

export interface CaptureSettings {
  /** config.recordings.captureMaxBytes */
  maxBytes: number;
}

/**
 * What else a stored capture starts (the face-match assist, face-match.service.ts; the liveness check,
 * liveness.service.ts): a row written in the capture's own transaction, and its job queued after commit.
 */
export interface CapturePairing {
  pairInTransaction(tx: Tx, capture: Capture): Promise<string | undefined>;
  queue(id: string): Promise<void>;
}

/** The face-match summary a capture record carries (the newest match it is part of). */
export interface CaptureFaceMatch {
  id: string;
  status: FaceMatch['status'];
  result: FaceMatch['result'];
  score: number | null;
  matchThreshold: number;
  noMatchThreshold: number;
  modelName: string | null;
  modelVersion: string | null;
}

/** Who may upload, checked before the body is read: a refused agent does not get to send megabytes. */
export interface UploadTicket {
  sessionId: string;
  loanFileId: string;
  attemptId: string;
  capturedById: string;
  /** Into the attempt's recording, at the moment the upload arrived (close to the shutter). */
  offsetMs: number | null;
}

/** What a face match said, and with which model and thresholds: the part every view of a match shares. */
export const faceMatchVerdict = (m: CaptureFaceMatch) => ({
  id: m.id,
  status: m.status,
  result: m.result,
  score: m.score,
  thresholds: { matchAt: m.matchThreshold, noMatchBelow: m.noMatchThreshold },
  model: m.modelName && m.modelVersion ? { name: m.modelName, version: m.modelVersion } : null,
});

const faceMatchSummary = (m: CaptureFaceMatch | undefined) => (m ? faceMatchVerdict(m) : null);

export const captureDto = (c: Capture, faceMatch?: CaptureFaceMatch) => ({
  id: c.id,
  sessionId: c.sessionId,
  attemptId: c.attemptId,
  kind: c.kind,
  contentType: c.contentType,
  sizeBytes: c.sizeBytes,
  sha256: c.sha256,
  offsetMs: c.offsetMs,
  capturedById: c.capturedById,
  createdAt: c.createdAt.toISOString(),
  contentUrl: `/api/captures/${c.id}/content`,
  faceMatch: faceMatchSummary(faceMatch),
});

export class CaptureService {
  private readonly db: Db;
  private readonly store: RecordingStore;
  private readonly settings: CaptureSettings;

  constructor(options: { db: Db; store: RecordingStore; settings: CaptureSettings; pairing?: CapturePairing | readonly CapturePairing[] }) {
    this.db = options.db;
    this.store = options.store;
    this.settings = options.settings;
    const { pairing } = options;
    this.pairings = pairing === undefined ? [] : Array.isArray(pairing) ? pairing : [pairing as CapturePairing];
  }

  private readonly pairings: readonly CapturePairing[];

  get maxBytes(): number {
    return this.settings.maxBytes;
  }

  private canRead(principal: UserPrincipal, session: Pick<VerificationSession, 'assignedAgentId'>): boolean {
    return canReadSessionMedia(principal, session);
  }

  /** Only the assigned agent, only while the conversation or its wrap-up is on. */
  async prepareUpload(sessionId: string, principal: UserPrincipal): Promise<UploadTicket> {
    const session = await this.db.verificationSession.findUnique({ where: { id: sessionId }, select: { id: true, loanFileId: true, assignedAgentId: true, state: true } });
    if (!session) throw new AppError('NOT_FOUND', `No session ${sessionId}`);
    if (session.assignedAgentId !== principal.userId) {
      if (this.canRead(principal, session)) throw new AppError('FORBIDDEN', 'Only the assigned agent takes snapshots');
      throw new AppError('NOT_FOUND', `No session ${sessionId}`);
    }
    if (!CAPTURING_STATES.has(session.state)) throw new AppError('SESSION_STATE_CONFLICT', `Snapshots are taken during the conversation or wrap-up, not while ${session.state}`);
    const attempt = await this.db.attempt.findFirst({ where: { sessionId }, orderBy: { number: 'desc' } });
    if (!attempt) throw new AppError('SESSION_STATE_CONFLICT', 'The session has no attempt');
    const offsetMs = attempt.recordingStartedAt ? Math.max(0, Date.now() - attempt.recordingStartedAt.getTime()) : null;
    return { sessionId, loanFileId: session.loanFileId, attemptId: attempt.id, capturedById: principal.userId, offsetMs };
  }

  async save(ticket: UploadTicket, kind: CaptureKind, bytes: Buffer, requestId: string): Promise<Capture> {
    if (bytes.length > this.settings.maxBytes) throw new AppError('PAYLOAD_TOO_LARGE', `A snapshot may be at most ${this.settings.maxBytes} bytes`);
    const image = detectImage(bytes);
    if (!image) throw new AppError('UNSUPPORTED_MEDIA_TYPE', 'The body is not a PNG or JPEG image (its content was checked, not its name or Content-Type)');
    const id = randomUUID();
    const objectKey = `captures/${ticket.loanFileId}/${ticket.sessionId}/${id}.${image.extension}`;
    const sha256 = createHash('sha256').update(bytes).digest('hex');

    // Object first: a row must never point at nothing.
    await this.store.put(objectKey, bytes, image.contentType);
    const started: [CapturePairing, string][] = [];
    let stored: Capture;
    try {
      stored = await this.db.$transaction(async (tx) => {
        const row = await tx.capture.create({
          data: { id, sessionId: ticket.sessionId, attemptId: ticket.attemptId, kind, objectKey, contentType: image.contentType, sizeBytes: bytes.length, sha256, offsetMs: ticket.offsetMs, capturedById: ticket.capturedById },
        });
        await appendAudit(tx, {
          actor: { type: 'USER', id: ticket.capturedById },
          entity: { type: 'capture', id },
          event: { action: 'capture.stored', v: 1, data: { sessionId: ticket.sessionId, kind, sha256, sizeBytes: bytes.length, offsetMs: ticket.offsetMs } },
          requestId,
        });
        for (const pairing of this.pairings) {
          const pairedId = await pairing.pairInTransaction(tx, row);
          if (pairedId) started.push([pairing, pairedId]);
        }
        return row;
      });
    } catch (error) {
      // No row references the object: remove it, so an ID image does not linger untracked.
      await this.store.delete(objectKey).catch((cleanup: unknown) => {
        throw new AggregateError([error, cleanup], `capture ${id} was not recorded, and removing its object failed too`);
      });
      throw error;
    }
    for (const [pairing, pairedId] of started) await pairing.queue(pairedId);
    return stored;
  }

  /** The session's captures, oldest first, each with the newest face match it is part of. */
  async list(sessionId: string, principal: UserPrincipal): Promise<(Capture & { faceMatch?: CaptureFaceMatch })[]> {
    const session = await this.db.verificationSession.findUnique({ where: { id: sessionId }, select: { assignedAgentId: true } });
    if (!session || !this.canRead(principal, session)) throw new AppError('NOT_FOUND', `No session ${sessionId}`);
    const newest = { orderBy: [{ createdAt: 'desc' as const }, { id: 'desc' as const }], take: 1 };
    const rows = await this.db.capture.findMany({
      where: { sessionId },
      orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
      include: { faceMatchesAsId: newest, faceMatchesAsLive: newest },
    });
    return rows.map(({ faceMatchesAsId, faceMatchesAsLive, ...capture }) => ({ ...capture, faceMatch: faceMatchesAsId[0] ?? faceMatchesAsLive[0] }));
  }

  async authorizeRead(captureId: string, principal: UserPrincipal): Promise<Capture> {
    const capture = await this.db.capture.findUnique({ where: { id: captureId }, include: { session: { select: { assignedAgentId: true } } } });
    if (!capture || !this.canRead(principal, capture.session)) throw new AppError('NOT_FOUND', `No capture ${captureId}`);
    const { session: _session, ...row } = capture;
    return row;
  }

  /** Opens the image and audits the read before returning it: nothing is served unaudited. */
  async open(capture: Capture, principal: UserPrincipal, requestId: string): Promise<Readable> {
    const object = await this.store.read(capture.objectKey);
    try {
      if (object.contentLength !== capture.sizeBytes) throw new Error(`capture ${capture.id}: the store holds ${object.contentLength} bytes, ${capture.sizeBytes} were stored`);
      await this.db.$transaction((tx) =>
        appendAudit(tx, { actor: actorOf(principal), entity: { type: 'capture', id: capture.id }, event: { action: 'capture.accessed', v: 1, data: { sessionId: capture.sessionId } }, requestId }),
      );
    } catch (error) {
      object.body.destroy();
      throw error;
    }
    return object.body;
  }
}
