// One error type, one table. Every failure facesign reports is an AppError with a stable code from
// this table; any layer may raise one. server/http/problem.ts renders it as application/problem+json
// (RFC 9457). docs/errors.md documents the table and a unit test keeps the two in step.
import type { ZodError } from 'zod';

export const ERROR_CODES = {
  VALIDATION_FAILED: { status: 400, title: 'The request is not valid' },
  MALFORMED_BODY: { status: 400, title: 'The request body could not be parsed' },
  MALFORMED_REQUEST: { status: 400, title: 'The HTTP request could not be parsed' },
  UNAUTHENTICATED: { status: 401, title: 'Authentication is required' },
  INVALID_CREDENTIALS: { status: 401, title: 'The e-mail address or password is wrong' },
  WEBHOOK_SIGNATURE_INVALID: { status: 401, title: 'The webhook signature is not valid' },
  PARTY_TOKEN_INVALID: { status: 401, title: 'Verify the one-time code first' },
  FORBIDDEN: { status: 403, title: 'Your role does not allow this' },
  CSRF_TOKEN_INVALID: { status: 403, title: 'The CSRF token is missing or wrong' },
  NOT_FOUND: { status: 404, title: 'No such resource' },
  BORROWER_LINK_INVALID: { status: 404, title: 'This link is not valid' },
  ROUTE_NOT_FOUND: { status: 404, title: 'No such endpoint' },
  EXTERNAL_REF_CONFLICT: { status: 409, title: 'A loan file with this external reference exists with different data' },
  VERSION_CONFLICT: { status: 409, title: 'The resource was changed by someone else' },
  EMAIL_TAKEN: { status: 409, title: 'A user with this e-mail address exists' },
  SESSION_STATE_CONFLICT: { status: 409, title: 'The session is no longer in the expected state' },
  RECORDING_STATE_CONFLICT: { status: 409, title: 'The recording is not in a state that allows this' },
  RETENTION_ACTIVE: { status: 409, title: 'The recording is under retention or legal hold and cannot be deleted' },
  BORROWER_LINK_EXPIRED: { status: 410, title: 'This link has expired' },
  BORROWER_LINK_USED_UP: { status: 410, title: 'This link has been used too many times' },
  SESSION_CLOSED: { status: 410, title: 'This verification is over or was cancelled' },
  RECORDING_NOT_PLAYABLE: { status: 409, title: 'Only verified recordings can be played' },
  REQUEST_TIMEOUT: { status: 408, title: 'The request was not received in time' },
  PAYLOAD_TOO_LARGE: { status: 413, title: 'The request body is too large' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'The request body has the wrong media type' },
  RANGE_NOT_SATISFIABLE: { status: 416, title: 'The requested range cannot be served' },
  CHECKLIST_INCOMPLETE: { status: 422, title: 'Required checklist items are still open' },
  OFFER_NOT_AVAILABLE: { status: 409, title: 'The offer was withdrawn, expired or taken' },
  LOAN_TERMS_MISSING: { status: 422, title: 'The checklist names loan terms the loan file lacks' },
  SIGNING_NOT_CONFIRMED: { status: 422, title: 'The party has not confirmed signing the contract' },
  CONTRACT_HASH_MISMATCH: { status: 422, title: 'The contract hash does not match the contract document supplied for the loan file' },
  CONTRACT_FETCH_DISABLED: { status: 422, title: 'Fetching contracts by URL is off on this server' },
  CONTRACT_URL_NOT_ALLOWED: { status: 422, title: 'facesign does not fetch from this URL' },
  OUTSIDE_CALLING_HOURS: { status: 422, title: 'The time is outside the party\'s calling hours' },
  OTP_INVALID: { status: 422, title: 'The one-time code is wrong' },
  OTP_EXPIRED: { status: 422, title: 'The one-time code has expired; request a new one' },
  CONSENT_REQUIRED: { status: 422, title: 'Consent to recording and data processing is required' },
  TOO_EARLY: { status: 422, title: 'The waiting room is not open yet' },
  IDEMPOTENCY_KEY_REUSED: { status: 422, title: 'This Idempotency-Key was used with a different request' },
  OTP_LOCKED: { status: 423, title: 'Too many wrong codes; try again later' },
  ACCOUNT_LOCKED: { status: 423, title: 'The account is temporarily locked after repeated failed logins' },
  RATE_LIMITED: { status: 429, title: 'Too many requests' },
  HEADERS_TOO_LARGE: { status: 431, title: 'The request line or headers are too large' },
  INTERNAL: { status: 500, title: 'Internal error' },
  CONTRACT_FETCH_FAILED: { status: 502, title: 'The contract could not be fetched from the URL' },
  SERVICE_UNAVAILABLE: { status: 503, title: 'A dependency is unavailable' },
  EVIDENCE_PDF_UNAVAILABLE: { status: 503, title: 'The evidence PDF cannot be rendered on this server' },
  CONTRACT_FETCH_TIMEOUT: { status: 504, title: 'The contract URL did not answer in time' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** The window a refused time missed, in the party's own time zone (OUTSIDE_CALLING_HOURS). */
export interface PartyCallingHours {
  timeZone: string;
  start: string;
  end: string;
  /** 0 = Sunday … 6 = Saturday. */
  days: number[];
  /** The refused time as the party's clock reads it, 'YYYY-MM-DDTHH:MM'. */
  requestedLocal: string;
}

export interface FieldError {
  in: 'body' | 'query' | 'params' | 'header';
  field: string;
  message: string;
}

export class AppError extends Error {
  readonly status: number;

  constructor(
    readonly code: ErrorCode,
    readonly detail?: string,
    readonly extra: { errors?: FieldError[]; retryAfterSeconds?: number; callingHours?: PartyCallingHours } = {},
  ) {
    super(detail ?? ERROR_CODES[code].title);
    this.name = 'AppError';
    this.status = ERROR_CODES[code].status;
  }
}

export function validationError(location: FieldError['in'], error: ZodError): AppError {
  const errors = error.issues.map((issue) => ({
    in: location,
    field: issue.path.length > 0 ? issue.path.map(String).join('.') : '(root)',
    message: issue.message,
  }));
  const fields = [...new Set(errors.map((e) => e.field))].join(', ');
  return new AppError('VALIDATION_FAILED', `Invalid ${location}: ${fields}`, { errors });
}
