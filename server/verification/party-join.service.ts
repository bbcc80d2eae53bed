// The borrower's side of a video session, reached through their link: see what the appointment is,
// receive and enter a one-time code, consent to recording and data processing (the consent text's
// version and hash are stored), enter the waiting room, pick another slot, and confirm signing the
// contract with a fresh code bound to the document hash and the recording offset.
import type { Db } from '../db/client.js';
import type { BorrowerLink, VerificationSession } from '../db/generated/prisma/client.js';
import type { Logger } from '../logging.js';
import { AppError } from '../shared/errors.js';
import { appendAudit } from '../audit/audit.service.js';
import { maskName } from '../logging.js';
import { holdsPartyToken, issueLink, type BorrowerLinks } from '../auth/borrower-links.service.js';
import type { JobQueues } from '../jobs/queues.js';
import { partyIdentity } from '../livekit/identities.js';
import type { VideoPlatform } from '../livekit/video-platform.js';
import type { Notifier, PartyMessage } from '../notifications/notifier.js';
import { formatMoney, parseTermsSnapshot, termValues } from '../loan-files/loan-terms.js';
import { productNameSchema } from '../loan-files/loan-files.schema.js';
import { CONSENT_TEXTS, consentTextHash } from './consent-texts.js';
import type { SessionEngine } from './session-engine.js';
import { InvalidTransition, transition, type SessionEvent } from './session-state.js';
import type { Dispatcher } from './dispatcher.js';
import { isWithinCallingHours, nextAllowedInstant, type CallingHours } from './calling-hours.js';
import { assertCallable } from './scheduling.service.js';

/** The waiting room opens this long before the appointment. */
export const WAITING_ROOM_OPENS_MS = 15 * 60_000;

export interface PartyJoinSettings {
  callingHours: CallingHours;
  publicUrl: string;
  linkTtlMs: number;
  otpTtlMs: number;
  livekitUrl: string | undefined;
}

export interface PartyContext {
  link: BorrowerLink;
  session: VerificationSession;
  ip: string | undefined;
  userAgent: string | undefined;
  requestId: string;
}

const party = (sessionId: string) => ({ type: 'BORROWER' as const, id: sessionId });

export interface PartyJoinServiceOptions {
  db: Db;
  links: BorrowerLinks;
  engine: SessionEngine;
  dispatcher: Dispatcher;
  queues: JobQueues;
  notifier: Notifier;
  platform: VideoPlatform | undefined;
  settings: PartyJoinSettings;
  log: Logger;
  /** After a signing is committed (the desk shows it live). */
  onSigned: (session: VerificationSession) => void;
}

export class PartyJoinService {
  private readonly db: Db;
  private readonly links: BorrowerLinks;
  private readonly engine: SessionEngine;
  private readonly dispatcher: Dispatcher;
  private readonly queues: JobQueues;
  private readonly notifier: Notifier;
  private readonly platform: VideoPlatform | undefined;
  private readonly settings: PartyJoinSettings;
  private readonly log: Logger;
  private readonly onSigned: (session: VerificationSession) => void;

  constructor(options: PartyJoinServiceOptions) {
    this.db = options.db;
    this.links = options.links;
    this.engine = options.engine;
    this.dispatcher = options.dispatcher;
    this.queues = options.queues;
    this.notifier = options.notifier;
    this.platform = options.platform;
    this.settings = options.settings;
    this.log = options.log;
    this.onSigned = options.onSigned;
  }

  /**
   * What the join page shows. Before the one-time code: the appointment, the party's name masked, and
   * no loan data. With the party token (`partyToken`): also the loan's key terms for signing.
   */
  async overview(ctx: { link: BorrowerLink; session: VerificationSession }, partyToken?: string, now = new Date()) {
    const p = await this.db.party.findUniqueOrThrow({ where: { id: ctx.session.partyId } });
    const consents = await this.db.consent.findMany({ where: { sessionId: ctx.session.id }, select: { kind: true } });
    const authenticated = holdsPartyToken(ctx.link, partyToken);
    const codeStatus = (purpose: 'join' | 'sign') => {
      const status = this.links.codeStatus(ctx.link, purpose, now);
      return { pending: status.pending, triesLeft: status.triesLeft, lockedUntil: status.lockedUntil?.toISOString() ?? null, resendAt: status.resendAt?.toISOString() ?? null };
    };
    return {
      sessionId: ctx.session.id,
      kind: ctx.session.kind,
      state: ctx.session.state,
      appointmentAt: ctx.session.notBefore.toISOString(),
      deadline: ctx.session.deadline.toISOString(),
      locale: p.locale,
      partyName: maskName(p.fullName),
      verified: ctx.link.partyTokenHash !== null,
      authenticated,
      consented: consents.some((c) => c.kind === 'RECORDING') && consents.some((c) => c.kind === 'DATA_PROCESSING'),
      waitingRoomOpensAt: new Date(ctx.session.notBefore.getTime() - WAITING_ROOM_OPENS_MS).toISOString(),
      position: ctx.session.state === 'WAITING' ? await this.dispatcher.waitingPosition(ctx.session.id) : null,
      canReschedule: allows(ctx.session, { type: 'RESCHEDULED', notBefore: ctx.session.deadline }),
      contractToSign: ctx.session.contractDocumentHash !== null,
      otp: { join: codeStatus('join'), sign: codeStatus('sign') },
      terms: authenticated ? await this.keyTerms(ctx.session) : null,
      consentTexts: CONSENT_TEXTS,
    };
  }

  /**
   * The loan's key terms the party confirms: reference, product, amount and currency, and the terms the
   * session's script states (the contract viewer highlights them); no other personal data.
   */
  private async keyTerms(session: VerificationSession) {
    const loanFile = await this.db.loanFile.findUniqueOrThrow({ where: { id: session.loanFileId }, select: { externalRef: true, product: true, productName: true, amount: true, currency: true } });
    const signing = await this.db.signingConfirmation.findFirst({ where: { sessionId: session.id }, orderBy: { confirmedAt: 'desc' }, select: { confirmedAt: true } });
    const stated = parseTermsSnapshot(session.loanTerms) ?? { amount: loanFile.amount.toFixed(2), currency: loanFile.currency };
    return {
      loanTerms: stated,
      values: { 'zh-CN': termValues(stated, 'zh-CN'), en: termValues(stated, 'en') },
      loanReference: loanFile.externalRef,
      product: loanFile.product,
      productName: productNameSchema.safeParse(loanFile.productName).data ?? null,
      amount: loanFile.amount.toFixed(2),
      currency: loanFile.currency,
      documentHash: session.contractDocumentHash,
      signedAt: signing?.confirmedAt.toISOString() ?? null,
    };
  }

  async sendCode(ctx: { link: BorrowerLink; session: VerificationSession }, purpose: 'join' | 'sign'): Promise<void> {
    if (purpose === 'sign' && ctx.session.state !== 'IN_PROGRESS') throw new AppError('SESSION_STATE_CONFLICT', 'Signing is confirmed during the video call');
    const code = await this.links.createCode(ctx.link, purpose);
    const p = await this.db.party.findUniqueOrThrow({ where: { id: ctx.session.partyId } });
    const locale = p.locale === 'en' ? 'en' : 'zh-CN';
    const minutes = String(Math.round(this.settings.otpTtlMs / 60_000));
    if (purpose === 'join') {
      await this.notifier.send({ to: p.phoneE164, locale, template: 'otp', params: { code, minutes } });
      return;
    }
    // The signing code says what it signs: the loan and the amount this session's script stated.
    const loanFile = await this.db.loanFile.findUniqueOrThrow({ where: { id: ctx.session.loanFileId }, select: { externalRef: true, amount: true, currency: true } });
    const terms = parseTermsSnapshot(ctx.session.loanTerms);
    const amount = formatMoney(terms?.amount ?? loanFile.amount.toFixed(2), terms?.currency ?? loanFile.currency, locale);
    await this.notifier.send({ to: p.phoneE164, locale, template: 'signing_code', params: { code, minutes, loanReference: loanFile.externalRef, amount } });
  }

  async verifyJoinCode(ctx: { link: BorrowerLink; session: VerificationSession }, code: string): Promise<string> {
    await this.links.verifyCode(ctx.link, 'join', code);
    return this.links.issuePartyToken(ctx.link);
  }

  async consent(ctx: PartyContext, input: { recording: boolean; dataProcessing: boolean; locale: 'zh-CN' | 'en'; location?: { country: string; region?: string | undefined; city?: string | undefined } | undefined }) {
    if (!input.recording || !input.dataProcessing) throw new AppError('CONSENT_REQUIRED', 'Both consents are needed to continue; without them the verification cannot take place');
    await this.db.$transaction(async (tx) => {
      for (const kind of ['RECORDING', 'DATA_PROCESSING'] as const) {
        const text = CONSENT_TEXTS[kind];
        const consent = await tx.consent.create({
          data: {
            sessionId: ctx.session.id,
            kind,
            textVersion: text.version,
            textHash: consentTextHash(kind, input.locale),
            locale: input.locale,
            ipAddress: ctx.ip?.slice(0, 64) ?? null,
            // Coarse location only, and only because the party just consented to data processing.
            geo: input.location ? { country: input.location.country, region: input.location.region ?? null, city: input.location.city ?? null } : undefined,
            userAgent: ctx.userAgent?.slice(0, 256) ?? null,
          },
        });
        await appendAudit(tx, {
          actor: party(ctx.session.id),
          entity: { type: 'session', id: ctx.session.id },
          event: { action: 'consent.given', v: 1, data: { consentId: consent.id, kind, textVersion: text.version, textHash: consent.textHash, locale: input.locale } },
          requestId: ctx.requestId,
        });
      }
    });
  }

  /** Enters the waiting room (or, during a call, rejoins it): returns how to join the room. */
  async ready(ctx: PartyContext, now = new Date()) {
    const consents = await this.db.consent.findMany({ where: { sessionId: ctx.session.id }, select: { kind: true } });
    if (!(consents.some((c) => c.kind === 'RECORDING') && consents.some((c) => c.kind === 'DATA_PROCESSING'))) throw new AppError('CONSENT_REQUIRED');
    let session = ctx.session;
    if (['SCHEDULED', 'DISPATCHING', 'RETRY_PENDING'].includes(session.state)) {
      const opensAt = new Date(session.notBefore.getTime() - WAITING_ROOM_OPENS_MS);
      if (session.state !== 'DISPATCHING' && now < opensAt) throw new AppError('TOO_EARLY', `The waiting room opens at ${opensAt.toISOString()}`);
      const applied = await this.engine.apply(session.id, { type: 'PARTY_READY' }, { actor: party(session.id), requestId: ctx.requestId });
      session = applied.session;
      if (this.platform) await this.platform.createRoom({ name: applied.attempt!.roomName, maxParticipants: 3, metadata: { sessionId: session.id, attemptId: applied.attempt!.id } });
    } else if (!['WAITING', 'IN_PROGRESS'].includes(session.state)) {
      throw new AppError('SESSION_STATE_CONFLICT', `The session is ${session.state}`);
    }
    const attempt = await this.db.attempt.findFirstOrThrow({ where: { sessionId: session.id }, orderBy: { number: 'desc' } });
    if (!this.platform || !this.settings.livekitUrl) throw new AppError('SERVICE_UNAVAILABLE', 'LiveKit is not configured');
    const token = await this.platform.partyToken({ room: attempt.roomName, identity: partyIdentity(attempt.id), ttlSeconds: 900 });
    return { state: session.state, room: attempt.roomName, livekitUrl: this.settings.livekitUrl, token, position: await this.dispatcher.waitingPosition(session.id) };
  }

  /** The party picks another slot before the appointment starts. */
  async reschedule(ctx: PartyContext, notBefore: Date, now = new Date()) {
    if (notBefore.getTime() < now.getTime() + WAITING_ROOM_OPENS_MS) throw fieldError('notBefore', 'must be at least 15 minutes from now');
    if (notBefore >= ctx.session.deadline) throw fieldError('notBefore', `must be before ${ctx.session.deadline.toISOString()}`);
    // The party may pick only a time the agents may reach them, as the LOS and supervisors may.
    const p = await this.db.party.findUniqueOrThrow({ where: { id: ctx.session.partyId }, select: { timeZone: true } });
    assertCallable(notBefore, p.timeZone, this.settings.callingHours);
    const applied = await this.engine.apply(ctx.session.id, { type: 'RESCHEDULED', notBefore }, { actor: party(ctx.session.id), requestId: ctx.requestId });
    await this.scheduleReminders(applied.session);
    return applied.session;
  }

  /** The party confirms signing with a fresh code during the call: bound to the document and the recording. */
  async sign(ctx: PartyContext, code: string, now = new Date()) {
    if (ctx.session.state !== 'IN_PROGRESS') throw new AppError('SESSION_STATE_CONFLICT', 'Signing is confirmed during the video call');
    if (!ctx.session.contractDocumentHash) throw new AppError('SESSION_STATE_CONFLICT', 'There is no contract to sign in this session');
    await this.links.verifyCode(ctx.link, 'sign', code, now);
    const attempt = await this.db.attempt.findFirstOrThrow({ where: { sessionId: ctx.session.id }, orderBy: { number: 'desc' } });
    const recordingOffsetMs = attempt.recordingStartedAt ? Math.max(0, now.getTime() - attempt.recordingStartedAt.getTime()) : 0;
    const committed = await this.db.$transaction(async (tx) => {
      const signing = await tx.signingConfirmation.create({ data: { sessionId: ctx.session.id, attemptId: attempt.id, documentHash: ctx.session.contractDocumentHash!, recordingOffsetMs } });
      await appendAudit(tx, {
        actor: party(ctx.session.id),
        entity: { type: 'session', id: ctx.session.id },
        event: { action: 'contract.signing_confirmed', v: 1, data: { signingId: signing.id, attemptId: attempt.id, documentHash: signing.documentHash, recordingOffsetMs } },
        requestId: ctx.requestId,
      });
      return signing;
    });
    this.onSigned(ctx.session);
    return committed;
  }

  /**
   * Invites the party (or re-invites after a no-show) — now if it is inside their calling hours,
   * otherwise held until the window opens: nothing is sent to a party outside it.
   */
  async invite(sessionId: string, template: 'invitation' | 'missed', now = new Date()): Promise<void> {
    const session = await this.db.verificationSession.findUniqueOrThrow({ where: { id: sessionId }, include: { party: true } });
    if (isWithinCallingHours(now, session.party.timeZone, this.settings.callingHours)) return this.sendLink(sessionId, template);
    const at = nextAllowedInstant(now, session.party.timeZone, this.settings.callingHours);
    if (!at || at >= session.deadline) return;
    await this.queues.enqueue('session-reminder', { sessionId, reminder: template }, { jobId: `notify-${sessionId}-${template}-${at.getTime()}`, delayMs: at.getTime() - now.getTime() });
  }

  /** Sends a fresh link (a new token each message; older links stay valid until they expire). */
  private async sendLink(sessionId: string, template: PartyMessage['template']): Promise<void> {
    const session = await this.db.verificationSession.findUniqueOrThrow({ where: { id: sessionId }, include: { party: true } });
    const token = await this.db.$transaction((tx) => issueLink(tx, sessionId, this.settings.linkTtlMs));
    const locale = session.party.locale === 'en' ? 'en' : 'zh-CN';
    const appointment = new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'short', timeZone: session.party.timeZone }).format(session.notBefore);
    await this.notifier.send({ to: session.party.phoneE164, locale, template, params: { link: `${this.settings.publicUrl}/join/${token}`, appointment } });
  }

  /** 24 h and 15 min before the appointment; each job re-checks that the appointment still stands. */
  async scheduleReminders(session: Pick<VerificationSession, 'id' | 'notBefore' | 'version'>): Promise<void> {
    for (const [reminder, before] of [['24h', 24 * 3600_000], ['15m', 15 * 60_000]] as const) {
      const at = session.notBefore.getTime() - before;
      if (at <= Date.now()) continue;
      await this.queues.enqueue('session-reminder', { sessionId: session.id, reminder }, { jobId: `reminder-${session.id}-${reminder}-${session.notBefore.getTime()}`, delayMs: at - Date.now() });
    }
  }

  /** The message job: reminders only while the appointment stands; nothing outside calling hours. */
  async remind(sessionId: string, reminder: '24h' | '15m' | 'invitation' | 'missed', now = new Date()): Promise<void> {
    const session = await this.db.verificationSession.findUnique({ where: { id: sessionId }, include: { party: { select: { timeZone: true } } } });
    if (!session || ['COMPLETED', 'EXHAUSTED', 'CANCELLED', 'EXPIRED', 'ESCALATED'].includes(session.state)) return;
    if (reminder === 'invitation' || reminder === 'missed') return this.invite(sessionId, reminder, now);
    if (session.state !== 'SCHEDULED') return;
    const before = reminder === '24h' ? 24 * 3600_000 : 15 * 60_000;
    if (Math.abs(session.notBefore.getTime() - before - now.getTime()) > 10 * 60_000) return; // the appointment moved
    // A reminder that would fall outside the party's calling hours is not sent: it cannot wait.
    if (!isWithinCallingHours(now, session.party.timeZone, this.settings.callingHours)) return;
    await this.sendLink(sessionId, reminder === '24h' ? 'reminder_24h' : 'reminder_15m');
  }
}

/** Whether the state machine would accept `event` now (e.g. may the party still pick another slot). */
function allows(session: VerificationSession, event: SessionEvent): boolean {
  try {
    transition(session, event);
    return true;
  } catch (error) {
    if (error instanceof InvalidTransition) return false;
    throw error;
  }
}

function fieldError(field: string, message: string): AppError {
  return new AppError('VALIDATION_FAILED', `Invalid body: ${field}`, { errors: [{ in: 'body', field, message }] });
}
