// How a failed outbound call comes back to the API caller. livekit-sip wraps the final SIP response in a
// livekit.SIPStatus error; its gRPC code comes from livekit/protocol's SIP-to-gRPC table, and the Twirp
// server copies the status into the error metadata (`sip_status_code`, `sip_status`) plus the
// base64 google.rpc.Status (`error_details`). livekit-server-sdk turns exactly that metadata into a
// SipCallError. Failures without a SIP response (ringing timeout, unreachable trunk) carry no SIP status
// and reach the SDK as a plain ServerError.
import { DisconnectReason, SIPStatus } from '@livekit/protocol';
import type { SipStatusLine } from './sip-scripts.js';
import type { TwirpCode } from './twirp.js';
import { TwirpError } from './twirp.js';

export type CallFailure =
  | { kind: 'sip-status'; status: SipStatusLine }
  | { kind: 'ringing-timeout' }
  /** A TCP trunk whose address refuses the connection. */
  | { kind: 'connection-refused'; address: string }
  /** The trunk's host name does not resolve. */
  | { kind: 'unresolvable'; host: string };

// gRPC status codes by name, with their Twirp names (twirp ServerHTTPStatusFromErrorCode / xtwirp).
const GRPC = {
  Canceled: { number: 1, twirp: 'canceled' },
  InvalidArgument: { number: 3, twirp: 'invalid_argument' },
  DeadlineExceeded: { number: 4, twirp: 'deadline_exceeded' },
  NotFound: { number: 5, twirp: 'not_found' },
  PermissionDenied: { number: 7, twirp: 'permission_denied' },
  ResourceExhausted: { number: 8, twirp: 'resource_exhausted' },
  FailedPrecondition: { number: 9, twirp: 'failed_precondition' },
  Aborted: { number: 10, twirp: 'aborted' },
  OutOfRange: { number: 11, twirp: 'out_of_range' },
  Unauthenticated: { number: 16, twirp: 'unauthenticated' },
} as const satisfies Record<string, { number: number; twirp: TwirpCode }>;

type GrpcCode = (typeof GRPC)[keyof typeof GRPC];

// livekit/protocol livekit/sip.go sipCodeToGRPCCode.
const SIP_TO_GRPC: ReadonlyMap<number, GrpcCode> = new Map<number, GrpcCode>([
  [300, GRPC.InvalidArgument],
  [301, GRPC.NotFound],
  [302, GRPC.NotFound],
  [305, GRPC.InvalidArgument],
  [380, GRPC.InvalidArgument],
  [400, GRPC.InvalidArgument],
  [401, GRPC.PermissionDenied],
  [402, GRPC.PermissionDenied],
  [403, GRPC.PermissionDenied],
  [404, GRPC.NotFound],
  [405, GRPC.InvalidArgument],
  [406, GRPC.InvalidArgument],
  [407, GRPC.Unauthenticated],
  [408, GRPC.DeadlineExceeded],
  [409, GRPC.FailedPrecondition],
  [410, GRPC.NotFound],
  [412, GRPC.FailedPrecondition],
  [416, GRPC.OutOfRange],
  [480, GRPC.ResourceExhausted],
  [481, GRPC.NotFound],
  [482, GRPC.FailedPrecondition],
  [483, GRPC.FailedPrecondition],
  [484, GRPC.InvalidArgument],
  [485, GRPC.InvalidArgument],
  [486, GRPC.ResourceExhausted],
  [487, GRPC.Aborted],
  [488, GRPC.InvalidArgument],
  [491, GRPC.Aborted],
  [500, GRPC.FailedPrecondition],
  [501, GRPC.FailedPrecondition],
  [502, GRPC.FailedPrecondition],
  [503, GRPC.FailedPrecondition],
  [504, GRPC.DeadlineExceeded],
  [600, GRPC.ResourceExhausted],
  [603, GRPC.PermissionDenied],
  [604, GRPC.NotFound],
  [606, GRPC.InvalidArgument],
  [607, GRPC.PermissionDenied],
  [608, GRPC.PermissionDenied],
]);

function grpcCodeForSip(code: number): GrpcCode {
  const mapped = SIP_TO_GRPC.get(code);
  if (mapped !== undefined) return mapped;
  if (code >= 500 && code < 600) return GRPC.FailedPrecondition;
  return GRPC.InvalidArgument;
}

// livekit-sip labels the responses it expects as "INVITE failed", anything else as unexpected. For
// these it also reports the response's text body, else the carrier's X-Twilio-Error header, as the
// status text instead of the reason phrase (pkg/sip/outbound.go).
const EXPECTED_INVITE_FAILURES = new Set([400, 404, 480, 486, 488]);

function statusText(status: SipStatusLine): string {
  if (!EXPECTED_INVITE_FAILURES.has(status.code)) return status.reason;
  const carrier = status.headers?.find((h) => /^x-twilio-error:/i.test(h));
  return carrier ? carrier.slice(carrier.indexOf(':') + 1).trim() : status.reason;
}

export function callFailureError(failure: CallFailure): TwirpError {
  switch (failure.kind) {
    case 'ringing-timeout':
      return new TwirpError('canceled', 'sip request timed out');
    case 'connection-refused':
      return new TwirpError('failed_precondition', `transport<TCP> dial err=dial tcp :0->${failure.address}: connect: connection refused`);
    case 'unresolvable':
      return new TwirpError('invalid_argument', `fail to resolve target for "${failure.host}": lookup _sip._udp.${failure.host}: no such host`);
    case 'sip-status': {
      const { code } = failure.status;
      const text = statusText(failure.status);
      const grpc = grpcCodeForSip(code);
      const prefix = EXPECTED_INVITE_FAILURES.has(code) ? 'INVITE failed' : 'unexpected status from INVITE response';
      const message = `${prefix}: sip status: ${code}: ${text}`;
      return new TwirpError(grpc.twirp, message, {
        sip_status_code: String(code),
        sip_status: text,
        error_details: encodeErrorDetails(grpc.number, message, code, text),
      });
    }
  }
}

/**
 * The disconnect reason participant_left shows when a call fails. livekit-sip leaves the room with its own
 * classification (classifyInviteError); livekit-server keeps USER_UNAVAILABLE and USER_REJECTED from a
 * client's leave request and records any other reason, e.g. SIP_TRUNK_FAILURE, as CLIENT_INITIATED
 * (pkg/rtc/signalling/signalhandler.go).
 */
export function leaveReasonFor(failure: CallFailure): DisconnectReason {
  switch (failure.kind) {
    case 'ringing-timeout':
      return DisconnectReason.USER_UNAVAILABLE;
    case 'connection-refused':
    case 'unresolvable':
      return DisconnectReason.CLIENT_INITIATED;
    case 'sip-status': {
      const code = failure.status.code;
      if ([401, 403, 407, 486, 488].includes(code) || (code >= 600 && code < 700)) return DisconnectReason.USER_REJECTED;
      if (code >= 500 && code < 600) return DisconnectReason.CLIENT_INITIATED;
      return DisconnectReason.USER_UNAVAILABLE;
    }
  }
}

// ---- google.rpc.Status { int32 code = 1; string message = 2; repeated google.protobuf.Any details = 3; }

function encodeErrorDetails(grpcCode: number, message: string, code: number, text: string): string {
  const sipStatus = new SIPStatus({ code, status: text }).toBinary();
  const any = concat(lengthDelimited(1, utf8('type.googleapis.com/livekit.SIPStatus')), lengthDelimited(2, sipStatus));
  const rpcStatus = concat(varintField(1, grpcCode), lengthDelimited(2, utf8(message)), lengthDelimited(3, any));
  return Buffer.from(rpcStatus).toString('base64');
}

function utf8(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

function varint(value: number): Uint8Array {
  const bytes: number[] = [];
  let rest = value;
  while (rest > 0x7f) {
    bytes.push((rest & 0x7f) | 0x80);
    rest >>>= 7;
  }
  bytes.push(rest);
  return Uint8Array.from(bytes);
}

function varintField(field: number, value: number): Uint8Array {
  return concat(varint(field << 3), varint(value));
}

function lengthDelimited(field: number, payload: Uint8Array): Uint8Array {
  return concat(varint((field << 3) | 2), varint(payload.byteLength), payload);
}

function concat(...parts: Uint8Array[]): Uint8Array {
  return Uint8Array.from(Buffer.concat(parts));
}
