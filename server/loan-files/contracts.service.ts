// The contract the borrower signs on camera. The LOS uploads the PDF for a loan file; facesign
// stores it in the object store under its SHA-256 (computed here, never taken from the caller) and
// the newest upload is the loan file's current contract. A video session scheduled for the loan
// file binds that document's hash, and the join page, the desk and the review page show the very
// bytes the hash names.
import { createHash, randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { Db } from '../db/client.js';
import type { ContractDocument } from '../db/generated/prisma/client.js';
import { AppError } from '../http/errors.js';
import { appendAudit, type AuditEntry } from '../audit/audit.service.js';
import type { RecordingStore } from '../../recordings/object-store.js';

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
}

export interface ContractCaller {
  actor: AuditEntry['actor'];
  requestId: string;
}

export const contractDto = (d: ContractDocument) => ({
  id: d.id,
  loanFileId: d.loanFileId,
  sha256: d.sha256,
  sizeBytes: d.sizeBytes,
  uploadedAt: d.createdAt.toISOString(),
  contentUrl: `/api/loan-files/${d.loanFileId}/contract/content`,
});

export class ContractService {
  constructor(
    private readonly db: Db,
    private readonly store: RecordingStore,
    private readonly settings: ContractSettings,
  ) {}

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
  async save(loanFileId: string, bytes: Buffer, caller: ContractCaller): Promise<{ created: boolean; document: ContractDocument }> {
    if (bytes.length > this.settings.maxBytes) throw new AppError('PAYLOAD_TOO_LARGE', `A contract may be at most ${this.settings.maxBytes} bytes`);
    if (!looksLikePdf(bytes)) throw new AppError('UNSUPPORTED_MEDIA_TYPE', 'The body is not a PDF document (its content was checked, not its name or Content-Type)');
    await this.prepareUpload(loanFileId);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const current = await this.current(loanFileId);
    if (current?.sha256 === sha256) return { created: false, document: current };

    // Named by content: the same document supplied twice is one object.
    const objectKey = `contracts/${loanFileId}/${sha256}.pdf`;
    await this.store.put(objectKey, bytes, 'application/pdf');
    const id = randomUUID();
    const document = await this.db.$transaction(async (tx) => {
      const row = await tx.contractDocument.create({
        data: { id, loanFileId, sha256, sizeBytes: bytes.length, objectKey, uploadedBy: caller.actor.id ? `${caller.actor.type}:${caller.actor.id}` : caller.actor.type },
      });
      await appendAudit(tx, {
        actor: caller.actor,
        entity: { type: 'loan_file', id: loanFileId },
        event: { action: 'contract.document_stored', v: 1, data: { loanFileId, sha256, sizeBytes: bytes.length } },
        requestId: caller.requestId,
      });
      return row;
    });
    return { created: true, document };
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

  /** The PDF's bytes as a stream; a store holding a different length than was stored is an error, not a document. */
  async open(document: ContractDocument): Promise<Readable> {
    const object = await this.store.read(document.objectKey);
    if (object.contentLength !== document.sizeBytes) {
      object.body.destroy();
      throw new Error(`contract ${document.id}: the store holds ${object.contentLength} bytes, ${document.sizeBytes} were stored`);
    }
    return object.body;
  }
}
