// The contract in the call. The assigned agent turns the borrower's view of the contract to a page
// (audited, with the recording offset); the borrower's page reports the page it shows, and the desk
// sees it live; the borrower's code-confirmed signing reaches the desk the moment it is committed.
// Which page is presented and which one the borrower is on is conversation state, kept in Redis for a
// day; what is evidence (the pages presented, the signing) is in the audit log and SigningConfirmation.
import type { Redis } from 'ioredis';
import type { Db } from '../db/client.js';
import type { ContractDocument, SigningConfirmation, VerificationSession } from '../db/generated/prisma/client.js';
import { AppError } from '../shared/errors.js';
import { appendAudit } from '../audit/audit.service.js';
import type { UserPrincipal } from '../auth/principal.js';
import type { RealtimeEmitter } from '../realtime/events.js';
import type { ContractService } from '../loan-files/contracts.service.js';

/** Pages are presented and read while the conversation is on. */
const PRESENTING_STATES = new Set(['IN_PROGRESS']);
/** The borrower may page through the contract from the waiting room until the call is wrapped up. */
const READING_STATES = new Set(['WAITING', 'IN_PROGRESS', 'WRAP_UP']);
const VIEW_TTL_SECONDS = 24 * 3600;
const STAFF_READERS = new Set(['SUPERVISOR', 'ADMIN', 'AUDITOR']);

export interface PageState {
  presentedPage: number | null;
  presentedAt: string | null;
  partyPage: number | null;
  partyPageAt: string | null;
}

export interface SigningDto {
  id: string;
  documentHash: string;
  recordingOffsetMs: number;
  confirmedAt: string;
  attemptId: string;
}

export const signingDto = (s: SigningConfirmation): SigningDto => ({
  id: s.id,
  documentHash: s.documentHash,
  recordingOffsetMs: s.recordingOffsetMs,
  confirmedAt: s.confirmedAt.toISOString(),
  attemptId: s.attemptId,
});

export interface ContractView extends PageState {
  sessionId: string;
  /** null: the session has no contract to sign. */
  documentHash: string | null;
  /** The LOS supplied the document itself (not only its hash). */
  documentStored: boolean;
  sizeBytes: number | null;
  signing: SigningDto | null;
}

export interface ContractPresentationOptions {
  db: Db;
  redis: Redis;
  contracts: ContractService;
  emitter: RealtimeEmitter;
}

export class ContractPresentation {
  private readonly db: Db;
  private readonly redis: Redis;
  private readonly contracts: ContractService;
  private readonly emitter: RealtimeEmitter;

  constructor(options: ContractPresentationOptions) {
    this.db = options.db;
    this.redis = options.redis;
    this.contracts = options.contracts;
    this.emitter = options.emitter;
  }

  private key(sessionId: string): string {
    return `contract-view:${sessionId}`;
  }

  async pageState(sessionId: string): Promise<PageState> {
    const raw = await this.redis.hgetall(this.key(sessionId));
    const int = (v: string | undefined) => (v === undefined ? null : Number.parseInt(v, 10));
    return { presentedPage: int(raw.presentedPage), presentedAt: raw.presentedAt ?? null, partyPage: int(raw.partyPage), partyPageAt: raw.partyPageAt ?? null };
  }

  private async record(sessionId: string, fields: Record<string, string>): Promise<void> {
    await this.redis.multi().hset(this.key(sessionId), fields).expire(this.key(sessionId), VIEW_TTL_SECONDS).exec();
  }

  async view(session: VerificationSession): Promise<ContractView> {
    const [document, signing, pages] = await Promise.all([
      this.contracts.bySessionHash(session),
      this.db.signingConfirmation.findFirst({ where: { sessionId: session.id }, orderBy: { confirmedAt: 'desc' } }),
      this.pageState(session.id),
    ]);
    return { sessionId: session.id, documentHash: session.contractDocumentHash, documentStored: document !== null, sizeBytes: document?.sizeBytes ?? null, signing: signing ? signingDto(signing) : null, ...pages };
  }

  /** The session, if this user may see its contract: the assigned agent, supervisors, admins, auditors. */
  async sessionForStaff(sessionId: string, principal: UserPrincipal): Promise<VerificationSession> {
    const session = await this.db.verificationSession.findUnique({ where: { id: sessionId } });
    if (!session || !(session.assignedAgentId === principal.userId || principal.roles.some((r) => STAFF_READERS.has(r)))) throw new AppError('NOT_FOUND', `No session ${sessionId}`);
    return session;
  }

  /** The stored PDF the session's hash names, or 404 (no contract, or only its hash was supplied). */
  async documentOf(session: VerificationSession): Promise<ContractDocument> {
    const document = await this.contracts.bySessionHash(session);
    if (!document) throw new AppError('NOT_FOUND', session.contractDocumentHash ? 'Only the contract\'s hash was supplied for this session, not the document' : 'There is no contract to sign in this session');
    return document;
  }

  /** Only the assigned agent, only during the conversation, only a session with a stored contract. */
  async present(sessionId: string, page: number, principal: UserPrincipal, requestId: string): Promise<PageState> {
    const session = await this.db.verificationSession.findUnique({ where: { id: sessionId }, include: { attempts: { orderBy: { number: 'desc' }, take: 1 } } });
    if (!session) throw new AppError('NOT_FOUND', `No session ${sessionId}`);
    if (session.assignedAgentId !== principal.userId) {
      if (principal.roles.some((r) => STAFF_READERS.has(r))) throw new AppError('FORBIDDEN', 'Only the assigned agent presents the contract');
      throw new AppError('NOT_FOUND', `No session ${sessionId}`);
    }
    if (!PRESENTING_STATES.has(session.state)) throw new AppError('SESSION_STATE_CONFLICT', `The contract is presented during the conversation, not while ${session.state}`);
    await this.documentOf(session);
    const attempt = session.attempts[0];
    const recordingOffsetMs = attempt?.recordingStartedAt ? Math.max(0, Date.now() - attempt.recordingStartedAt.getTime()) : null;
    const at = new Date().toISOString();
    await this.db.$transaction((tx) =>
      appendAudit(tx, {
        actor: { type: 'USER', id: principal.userId },
        entity: { type: 'session', id: sessionId },
        event: { action: 'contract.page_presented', v: 1, data: { documentHash: session.contractDocumentHash!, page, recordingOffsetMs } },
        requestId,
      }),
    );
    await this.record(sessionId, { presentedPage: String(page), presentedAt: at });
    this.emitter.toParty(sessionId, 'contract:present', { v: 1, page });
    this.changed(session, 'presented');
    return this.pageState(sessionId);
  }

  /** The borrower's page shows `page` of the contract (reported by the join page). */
  async partyViewing(sessionId: string, page: number): Promise<void> {
    const session = await this.db.verificationSession.findUnique({ where: { id: sessionId } });
    if (!session || !READING_STATES.has(session.state) || !session.contractDocumentHash) throw new AppError('SESSION_STATE_CONFLICT', 'There is no contract to read now');
    await this.record(sessionId, { partyPage: String(page), partyPageAt: new Date().toISOString() });
    this.changed(session, 'viewing');
  }

  /** After the signing is committed: the desk shows it at once. */
  signed(session: Pick<VerificationSession, 'id' | 'assignedAgentId'>): void {
    this.changed(session, 'signed');
  }

  private changed(session: Pick<VerificationSession, 'id' | 'assignedAgentId'>, reason: 'presented' | 'viewing' | 'signed'): void {
    this.emitter.toSessionWatchers(session.id, 'contract:changed', { v: 1, sessionId: session.id, reason }, { ...(session.assignedAgentId ? { andAgent: session.assignedAgentId } : {}), andSupervisors: false });
  }
}
