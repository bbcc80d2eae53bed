// The contract the borrower signs on camera. The LOS uploads the PDF for a loan file; facesign
// stores it in the object store under its SHA-256 (computed here, never taken from the caller) and
// the newest upload is the loan file's current contract. A video session scheduled for the loan
// file binds that document's hash, and the join page, the desk and the review page show the very
// bytes the hash names.
import { createHash, randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { Db } from '../db/client.js';
import type { ContractDocument } from '../db/generated/prisma/client.js';
import { AppError } from '../shared/errors.js';
import { appendAudit, type AuditEntry } from '../audit/audit.service.js';
import type { RecordingStore } from '../../recordings/object-store.js';
import { checkContractUrl, fetchContractBytes, type ContractFetchPolicy } from './contract-fetch.js';
import { insertContract } from './loan-files.repository.js';

const PDF_HEADER = Buffer.from('%PDF-');
const PDF_EOF = Buffer.from('%%EOF');

/**
 * A PDF container: the `%PDF-1.x` / `%PDF-2.x` header at the start and an `%%EOF` marker in the last
 * kilobyte (which also refuses a truncated upload). Not a parser: it proves the upload is the kind of
 * file the borrower's browser will be asked to render, whatever name or Content-Type it came with.
 */
export function looksLikePdf(bytes: Buffer): boolean {
  if (bytes.length < 32 || !bytes.subarray(0, PDF_HEADER.length).equals(PDF_HEADER)) return false;
  const major = bytes[PDF_HEADER.length];
  if (major !== 0x31 && major !== 0x32) return false; // '1' or '2'
  return bytes.subarray(Math.max(0, bytes.length - 1024)).includes(PDF_EOF);
}

export interface ContractSettings {
  /** config.recordings.contractMaxBytes */
  maxBytes: number;
  /** config.recordings.contractFetch; no allowed hosts: fetching by URL is off. */
  fetch: ContractFetchPolicy;
}

/** Puts a just-written contract object under retention (ContractRetention in production). */
export interface ContractLocker {
  lockStored(loanFileId: string, objectKey: string, now: Date): Promise<{ retainUntil: Date; lockMode: 'COMPLIANCE' | 'GOVERNANCE' | null }>;
}

export interface ContractCaller {
  actor: AuditEntry['actor'];
  requestId: string;
}

/** Who is sent the contract's bytes, and through which route (for the audit log). */
export interface ContractReader extends ContractCaller {
  via: 'loan_file' | 'session' | 'join';
  sessionId: string | null;
}

export const contractDto = (d: ContractDocument) => ({
  id: d.id,
  loanFileId: d.loanFileId,
  sha256: d.sha256,
  sizeBytes: d.sizeBytes,
  uploadedAt: d.createdAt.toISOString(),
  contentUrl: `/api/loan-files/${d.loanFileId}/contract/content`,
});

export interface ContractServiceOptions {
  db: Db;
  store: RecordingStore;
  settings: ContractSettings;
  retention: ContractLocker;
}

export class ContractService {
  private readonly db: Db;
  private readonly store: RecordingStore;
  private readonly settings: ContractSettings;
  private readonly retention: ContractLocker;

  constructor(options: ContractServiceOptions) {
    this.db = options.db;
    this.store = options.store;
    this.settings = options.settings;
    this.retention = options.retention;
  }

  get maxBytes(): number {
    return this.settings.maxBytes;
  }

  /** Checked before the body is read: an unknown or cancelled loan file does not get to send megabytes. */
  async prepareUpload(loanFileId: string): Promise<void> {
    const loanFile = await this.db.loanFile.findUnique({ where: { id: loanFileId }, select: { status: true } });
    if (!loanFile) throw new AppError('NOT_FOUND', `No loan file ${loanFileId}`);
    if (loanFile.status === 'CANCELLED') throw new AppError('SESSION_STATE_CONFLICT', 'The loan file is cancelled');
  }

  /**
   * Stores the PDF as the loan file's current contract. The same bytes as the current contract are
   * an idempotent repeat (`created: false`); anything else becomes the new current contract.
   */
  async save(loanFileId: string, bytes: Buffer, caller: ContractCaller, source: { fetchedFrom?: string } = {}): Promise<{ created: boolean; document: ContractDocument }> {
    if (bytes.length > this.settings.maxBytes) throw new AppError('PAYLOAD_TOO_LARGE', `A contract may be at most ${this.settings.maxBytes} bytes`);
    if (!looksLikePdf(bytes)) throw new AppError('UNSUPPORTED_MEDIA_TYPE', 'The body is not a PDF document (its content was checked, not its name or Content-Type)');
    await this.prepareUpload(loanFileId);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const current = await this.current(loanFileId);
    if (current?.sha256 === sha256) return { created: false, document: current };

    // Named by content: the same document supplied twice is one object (written again only if it was
    // deleted). The object is under retention before its row says it is stored: evidence, as a recording.
    const objectKey = `contracts/${loanFileId}/${sha256}.pdf`;
    const stored = await this.db.contractDocument.findFirst({ where: { objectKey, deletedAt: null }, select: { id: true } });
    if (!stored) await this.store.put(objectKey, bytes, 'application/pdf');
    // Its retention counts from this instant, which the row records as createdAt.
    const storedAt = new Date();
    const lock = await this.retention.lockStored(loanFileId, objectKey, storedAt);
    const id = randomUUID();
    const document = await this.db.$transaction(async (tx) => {
      const row = await insertContract(tx, {
        id,
        loanFileId,
        sha256,
        sizeBytes: bytes.length,
        objectKey,
        uploadedBy: caller.actor.id ? `${caller.actor.type}:${caller.actor.id}` : caller.actor.type,
        createdAt: storedAt,
        retainUntil: lock.retainUntil,
        objectLockMode: lock.lockMode,
      });
      await appendAudit(tx, {
        actor: caller.actor,
        entity: { type: 'loan_file', id: loanFileId },
        event: { action: 'contract.document_stored', v: 1, data: { loanFileId, sha256, sizeBytes: bytes.length, ...source } },
        requestId: caller.requestId,
      });
      await appendAudit(tx, {
        actor: { type: 'SYSTEM', id: 'facesign-retention' },
        entity: { type: 'loan_file', id: loanFileId },
        event: {
          action: 'contract.retention_applied',
          v: 1,
          data: { sha256, retainUntil: lock.retainUntil.toISOString(), enforcedBy: lock.lockMode ? 'object_lock' : 'facesign', lockMode: lock.lockMode, legalHold: false },
        },
        requestId: caller.requestId,
      });
      return row;
    });
    return { created: true, document };
  }

  /**
   * Fetches the contract the LOS names by URL (within the fetch policy, see contract-fetch.ts) and
   * stores it as save() does, only if its SHA-256 is the one the LOS sent: a mismatch stores nothing.
   */
  async fetchAndSave(loanFileId: string, request: { url: string; sha256: string }, caller: ContractCaller): Promise<{ created: boolean; document: ContractDocument }> {
    const url = checkContractUrl(request.url, this.settings.fetch);
    await this.prepareUpload(loanFileId);
    const bytes = await fetchContractBytes(url, this.settings.fetch, this.settings.maxBytes);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    if (sha256 !== request.sha256.toLowerCase()) {
      throw new AppError('CONTRACT_HASH_MISMATCH', `The document fetched from ${url.origin} has SHA-256 ${sha256}, not the ${request.sha256} sent; nothing was stored`, {
        errors: [{ in: 'body', field: 'sha256', message: 'not the SHA-256 of the document at url' }],
      });
    }
    // The origin only: a path or query may carry a signed token that must not sit in the audit log.
    return this.save(loanFileId, bytes, caller, { fetchedFrom: url.origin });
  }

  /** The loan file's current contract (the newest upload), if any. */
  current(loanFileId: string): Promise<ContractDocument | null> {
    return this.db.contractDocument.findFirst({ where: { loanFileId }, orderBy: [{ createdAt: 'desc' }, { id: 'desc' }] });
  }

  async currentOr404(loanFileId: string): Promise<ContractDocument> {
    const loanFile = await this.db.loanFile.findUnique({ where: { id: loanFileId }, select: { id: true } });
    if (!loanFile) throw new AppError('NOT_FOUND', `No loan file ${loanFileId}`);
    const document = await this.current(loanFileId);
    if (!document) throw new AppError('NOT_FOUND', `Loan file ${loanFileId} has no contract document; upload one with PUT /api/loan-files/${loanFileId}/contract`);
    return document;
  }

  /** The stored document a session's hash names, if the LOS supplied the document itself. */
  bySessionHash(session: { loanFileId: string; contractDocumentHash: string | null }): Promise<ContractDocument | null> {
    if (!session.contractDocumentHash) return Promise.resolve(null);
    return this.db.contractDocument.findFirst({ where: { loanFileId: session.loanFileId, sha256: session.contractDocumentHash }, orderBy: { createdAt: 'asc' } });
  }

  /**
   * The PDF's bytes as a stream for `reader`, audited: every read of the document is in the audit
   * log (who, which loan file, which hash, through which route), appended once the store has
   * answered with the bytes that were stored. A store holding a different length than was stored is
   * an error, not a document.
   */
  async open(document: ContractDocument, reader: ContractReader): Promise<Readable> {
    if (document.deletedAt) throw new AppError('NOT_FOUND', `The contract ${document.sha256} was deleted at ${document.deletedAt.toISOString()}, after its retention ended`);
    const object = await this.store.read(document.objectKey);
    try {
      if (object.contentLength !== document.sizeBytes) {
        throw new Error(`contract ${document.id}: the store holds ${object.contentLength} bytes, ${document.sizeBytes} were stored`);
      }
      await this.db.$transaction((tx) =>
        appendAudit(tx, {
          actor: reader.actor,
          entity: { type: 'loan_file', id: document.loanFileId },
          event: { action: 'contract.document_accessed', v: 1, data: { loanFileId: document.loanFileId, sha256: document.sha256, via: reader.via, sessionId: reader.sessionId } },
          requestId: reader.requestId,
        }),
      );
    } catch (error) {
      object.body.destroy();
      throw error;
    }
    return object.body;
  }
}
