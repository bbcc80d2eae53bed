// Borrower links and one-time codes. A link is a 256-bit random token sent to the party; only its
// SHA-256 is stored, with an expiry and a use limit. Entering needs a one-time code sent by SMS (five
// tries per link, however many codes are sent, then locked); a verified code yields a party token, also
// stored only as a hash.
import { randomInt } from 'node:crypto';
import { sqlAutocommit, type Db, type Tx } from '../db/client.js';
import { build, first, rows } from '../db/typed-sql.js';
import type { BorrowerLink, VerificationSession } from '../db/generated/prisma/client.js';
import { AppError } from '../shared/errors.js';
import { newToken, sameHash, sha256Hex } from './tokens.js';

export interface OtpSettings {
  ttlMs: number;
  maxAttempts: number;
  lockMs: number;
}

export type OtpPurpose = 'join' | 'sign';
const CLOSED = new Set(['COMPLETED', 'EXHAUSTED', 'CANCELLED', 'EXPIRED', 'ESCALATED']);
const RESEND_AFTER_MS = 30_000;
const TOKEN_FORMAT = /^[A-Za-z0-9_-]{43}$/;

export async function issueLink(tx: Tx, sessionId: string, ttlMs: number): Promise<string> {
  const token = newToken(32);
  await tx.borrowerLink.create({ data: { sessionId, tokenHash: sha256Hex(token), expiresAt: new Date(Date.now() + ttlMs) } });
  return token;
}

const otpHashOf = (linkId: string, purpose: OtpPurpose, code: string) => sha256Hex(`${linkId}:${purpose}:${code}`);

export class BorrowerLinks {
  constructor(
    private readonly db: Db,
    private readonly otp: OtpSettings,
  ) {}

  /** The link and its session, or the precise reason it cannot be used. */
  async resolve(token: string, now = new Date()): Promise<{ link: BorrowerLink; session: VerificationSession }> {
    if (!TOKEN_FORMAT.test(token)) throw new AppError('BORROWER_LINK_INVALID');
    const link = await this.db.borrowerLink.findUnique({ where: { tokenHash: sha256Hex(token) }, include: { session: true } });
    if (!link || link.revokedAt) throw new AppError('BORROWER_LINK_INVALID');
    if (CLOSED.has(link.session.state)) throw new AppError('SESSION_CLOSED', `This verification is ${link.session.state.toLowerCase()}`);
    if (link.expiresAt <= now) throw new AppError('BORROWER_LINK_EXPIRED');
    if (link.uses >= link.maxUses) throw new AppError('BORROWER_LINK_USED_UP');
    return { link, session: link.session };
  }

  /**
   * Generates and stores a code; the caller sends it. Refuses while locked or right after a send. A new
   * code does not bring new tries: wrong codes count per link, across resends, until a code is right or
   * a lock has run out — otherwise asking for a code every 30 s would be unlimited guessing.
   */
  async createCode(link: BorrowerLink, purpose: OtpPurpose, now = new Date()): Promise<string> {
    this.assertNotLocked(link, now);
    this.assertResendAllowed(link, purpose, now);
    const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
    const resendBefore = new Date(now.getTime() - RESEND_AFTER_MS);
    // Conditional on the lock and the resend rule, so a parallel request cannot slip past either.
    const stored = await rows(
      sqlAutocommit(this.db),
      build
        .updateTable('BorrowerLink')
        .set((eb) => ({
          otpHash: otpHashOf(link.id, purpose, code),
          otpPurpose: purpose,
          otpSentAt: now,
          otpExpiresAt: new Date(now.getTime() + this.otp.ttlMs),
          otpAttempts: eb.case().when('otpLockedUntil', 'is', null).then(eb.ref('otpAttempts')).else(0).end(),
          otpLockedUntil: null,
        }))
        .where('id', '=', link.id)
        .where((eb) => eb.or([eb('otpLockedUntil', 'is', null), eb('otpLockedUntil', '<=', now)]))
        .where((eb) => eb.or([eb('otpSentAt', 'is', null), eb('otpPurpose', 'is distinct from', purpose), eb('otpSentAt', '<=', resendBefore)]))
        .returning('id'),
    );
    if (stored.length === 0) {
      const current = await this.db.borrowerLink.findUniqueOrThrow({ where: { id: link.id } });
      this.assertNotLocked(current, now);
      this.assertResendAllowed(current, purpose, now);
      throw new AppError('RATE_LIMITED', 'A code was just sent; wait before asking for another', { retryAfterSeconds: Math.ceil(RESEND_AFTER_MS / 1000) });
    }
    return code;
  }

  private assertNotLocked(link: BorrowerLink, now: Date): void {
    if (link.otpLockedUntil && link.otpLockedUntil > now) {
      throw new AppError('OTP_LOCKED', undefined, { retryAfterSeconds: Math.ceil((link.otpLockedUntil.getTime() - now.getTime()) / 1000) });
    }
  }

  private assertResendAllowed(link: BorrowerLink, purpose: OtpPurpose, now: Date): void {
    if (link.otpPurpose === purpose && link.otpSentAt && now.getTime() - link.otpSentAt.getTime() < RESEND_AFTER_MS) {
      throw new AppError('RATE_LIMITED', 'A code was just sent; wait before asking for another', { retryAfterSeconds: Math.ceil((RESEND_AFTER_MS - (now.getTime() - link.otpSentAt.getTime())) / 1000) });
    }
  }

  /**
   * Checks a code and consumes it. Every try is counted in the same statement that judges whether it
   * may be made, so parallel guesses cannot exceed the limit; the try that reaches `maxAttempts` wrong
   * ones locks the link in that statement too.
   */
  async verifyCode(link: BorrowerLink, purpose: OtpPurpose, code: string, now = new Date()): Promise<void> {
    this.assertNotLocked(link, now);
    if (!link.otpHash || link.otpPurpose !== purpose || !link.otpExpiresAt || link.otpExpiresAt <= now) throw new AppError('OTP_EXPIRED');
    const wrong = !/^\d{6}$/.test(code) || !sameHash(otpHashOf(link.id, purpose, code), link.otpHash);
    const lockedUntil = new Date(now.getTime() + this.otp.lockMs);
    const counted = await first(
      sqlAutocommit(this.db),
      build
        .updateTable('BorrowerLink')
        .set((eb) => {
          const locks = eb.and([eb.cast<boolean>(eb.val(wrong), 'boolean'), eb(eb('otpAttempts', '+', 1), '>=', eb.cast<number>(eb.val(this.otp.maxAttempts), 'integer'))]);
          return {
            otpAttempts: eb('otpAttempts', '+', 1),
            otpLockedUntil: eb.case().when(locks).then(eb.cast<Date>(eb.val(lockedUntil), 'timestamptz')).else(eb.ref('otpLockedUntil')).end(),
            otpHash: eb.case().when(locks).then(null).else(eb.ref('otpHash')).end(),
          };
        })
        .where('id', '=', link.id)
        .where('otpHash', '=', link.otpHash)
        .where('otpAttempts', '<', this.otp.maxAttempts)
        .where((eb) => eb.or([eb('otpLockedUntil', 'is', null), eb('otpLockedUntil', '<=', now)]))
        .returning((eb) => ['otpAttempts', eb('otpHash', 'is', null).$castTo<boolean>().as('locked')]),
    );
    if (!counted) {
      // Someone else got there first: a lock, or a newer code replacing this one.
      const current = await this.db.borrowerLink.findUniqueOrThrow({ where: { id: link.id } });
      this.assertNotLocked(current, now);
      if (current.otpHash !== link.otpHash) throw new AppError('OTP_EXPIRED');
      throw new AppError('OTP_LOCKED', undefined, { retryAfterSeconds: Math.ceil(this.otp.lockMs / 1000) });
    }
    if (wrong) {
      if (counted.locked) throw new AppError('OTP_LOCKED', 'Too many wrong codes', { retryAfterSeconds: Math.ceil(this.otp.lockMs / 1000) });
      const left = this.otp.maxAttempts - counted.otpAttempts;
      throw new AppError('OTP_INVALID', `The code is wrong; ${left} ${left === 1 ? 'try' : 'tries'} left`);
    }
    await this.db.borrowerLink.update({ where: { id: link.id }, data: { otpHash: null, otpPurpose: null, otpExpiresAt: null, otpAttempts: 0 } });
  }

  /** After a verified join code: a party token for this link (one use of the link). */
  async issuePartyToken(link: BorrowerLink, now = new Date()): Promise<string> {
    const token = newToken(32);
    await this.db.borrowerLink.update({ where: { id: link.id }, data: { partyTokenHash: sha256Hex(token), verifiedAt: now, uses: { increment: 1 } } });
    return token;
  }

  /** The link behind a party token, which must belong to the link in the URL. */
  async authenticateParty(linkToken: string, partyToken: string | undefined, now = new Date()): Promise<{ link: BorrowerLink; session: VerificationSession }> {
    const resolved = await this.resolve(linkToken, now);
    if (!holdsPartyToken(resolved.link, partyToken)) throw new AppError('PARTY_TOKEN_INVALID');
    return resolved;
  }

  /** Where the one-time code of a purpose stands, so a page can say how many tries are left and until when it is locked. */
  codeStatus(link: BorrowerLink, purpose: OtpPurpose, now = new Date()): { pending: boolean; triesLeft: number; lockedUntil: Date | null; resendAt: Date | null } {
    const pending = link.otpHash !== null && link.otpPurpose === purpose && link.otpExpiresAt !== null && link.otpExpiresAt > now;
    const resendAt = link.otpPurpose === purpose && link.otpSentAt ? new Date(link.otpSentAt.getTime() + RESEND_AFTER_MS) : null;
    const locked = link.otpLockedUntil !== null && link.otpLockedUntil > now;
    // Tries are the link's, not the code's; a lock that has run out is followed by a full set with the next code.
    const triesLeft = locked ? 0 : link.otpLockedUntil ? this.otp.maxAttempts : Math.max(0, this.otp.maxAttempts - link.otpAttempts);
    return { pending, triesLeft, lockedUntil: locked ? link.otpLockedUntil : null, resendAt: resendAt && resendAt > now ? resendAt : null };
  }
}

/** Whether `partyToken` is the one issued for this link (constant-time). */
export function holdsPartyToken(link: BorrowerLink, partyToken: string | undefined): boolean {
  return Boolean(partyToken && link.partyTokenHash && sameHash(sha256Hex(partyToken), link.partyTokenHash));
}
