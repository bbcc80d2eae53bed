// How the HTTP layer reports an AppError: application/problem+json (RFC 9457). The error type and the
// code table live in server/shared/errors.ts, where domain code can raise them without depending on HTTP.
import { ERROR_CODES, type AppError, type ErrorCode, type FieldError, type PartyCallingHours } from '../shared/errors.js';

export interface Problem {
  type: string;
  title: string;
  status: number;
  code: ErrorCode;
  detail: string;
  instance?: string;
  requestId?: string;
  errors?: FieldError[];
  callingHours?: PartyCallingHours;
}

export function toProblem(error: AppError, instance?: string, requestId?: string): Problem {
  return {
    type: `urn:facesign:problem:${error.code.toLowerCase().replace(/_/g, '-')}`,
    title: ERROR_CODES[error.code].title,
    status: error.status,
    code: error.code,
    detail: error.detail ?? ERROR_CODES[error.code].title,
    ...(instance ? { instance } : {}),
    ...(requestId ? { requestId } : {}),
    ...(error.extra.errors ? { errors: error.extra.errors } : {}),
    ...(error.extra.callingHours ? { callingHours: error.extra.callingHours } : {}),
  };
}
