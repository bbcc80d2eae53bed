// The Twirp wire format as LiveKit's Go server (twitchtv/twirp v8 generated code) speaks it: error codes,
// their HTTP statuses, the JSON error body, and protojson request/response bodies.
import type { ServerResponse } from 'node:http';

export type TwirpCode =
  | 'canceled'
  | 'unknown'
  | 'invalid_argument'
  | 'malformed'
  | 'deadline_exceeded'
  | 'not_found'
  | 'bad_route'
  | 'already_exists'
  | 'permission_denied'
  | 'unauthenticated'
  | 'resource_exhausted'
  | 'failed_precondition'
  | 'aborted'
  | 'out_of_range'
  | 'unimplemented'
  | 'internal'
  | 'unavailable'
  | 'dataloss';

const HTTP_STATUS: Record<TwirpCode, number> = {
  canceled: 408,
  unknown: 500,
  invalid_argument: 400,
  malformed: 400,
  deadline_exceeded: 408,
  not_found: 404,
  bad_route: 404,
  already_exists: 409,
  permission_denied: 403,
  unauthenticated: 401,
  resource_exhausted: 429,
  failed_precondition: 412,
  aborted: 409,
  out_of_range: 400,
  unimplemented: 501,
  internal: 500,
  unavailable: 503,
  dataloss: 500,
};

export function twirpHttpStatus(code: TwirpCode): number {
  return HTTP_STATUS[code];
}

export class TwirpError extends Error {
  constructor(
    readonly code: TwirpCode,
    message: string,
    readonly meta: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = 'TwirpError';
  }
}

/** The one error every RoomService/Egress/SIP handler returns when a grant is missing. */
export const permissionDenied = (): TwirpError => new TwirpError('unauthenticated', 'permissions denied');

export function badRoute(message: string, method: string, path: string): TwirpError {
  return new TwirpError('bad_route', message, { twirp_invalid_route: `${method} ${path}` });
}

// Twirp writes `application/json` exactly, and livekit-server-sdk only parses the error body when the
// header is exactly that string, so nothing here may add a charset.
export function writeTwirpError(res: ServerResponse, error: TwirpError): void {
  const body: { code: TwirpCode; msg: string; meta?: Record<string, string> } = { code: error.code, msg: error.message };
  if (Object.keys(error.meta).length > 0) body.meta = { ...error.meta };
  writeBody(res, twirpHttpStatus(error.code), 'application/json', JSON.stringify(body));
}

export function writeBody(res: ServerResponse, status: number, contentType: string, body: string | Uint8Array): void {
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  res.statusCode = status;
  res.setHeader('Content-Type', contentType);
  res.setHeader('Content-Length', String(bytes.byteLength));
  res.end(bytes);
}

// ---- protojson -------------------------------------------------------------------------------------------

export type JsonValue = number | string | boolean | null | JsonValue[] | { [key: string]: JsonValue };

interface JsonWriteOptions {
  useProtoFieldName?: boolean;
  emitDefaultValues?: boolean;
}

/** What the simulator needs from a @livekit/protocol message instance. */
export interface WireMessage {
  toJson(options?: JsonWriteOptions): JsonValue;
  toBinary(): Uint8Array;
}

/** What the simulator needs from a @livekit/protocol message class. */
export interface WireMessageType<T extends WireMessage> {
  readonly typeName: string;
  fromJson(json: JsonValue, options?: { ignoreUnknownFields?: boolean }): T;
  fromBinary(bytes: Uint8Array): T;
}

export type WireFormat = 'json' | 'protobuf';

/**
 * Decodes a request body strictly: unknown fields and wrong types are rejected. The Go server would
 * discard unknown fields; the simulator refuses them on purpose so that a request the real server would
 * silently half-understand fails loudly in tests instead.
 */
export function decodeRequest<T extends WireMessage>(type: WireMessageType<T>, body: Buffer, format: WireFormat): T {
  if (format === 'protobuf') {
    try {
      return type.fromBinary(new Uint8Array(body));
    } catch {
      throw new TwirpError('malformed', 'the protobuf request could not be decoded');
    }
  }
  let parsed: JsonValue;
  try {
    parsed = JSON.parse(body.toString('utf8')) as JsonValue;
  } catch (cause) {
    throw new TwirpError('malformed', 'the json request could not be decoded', { cause: describe(cause) });
  }
  try {
    return type.fromJson(parsed, { ignoreUnknownFields: false });
  } catch (cause) {
    throw new TwirpError('malformed', 'the json request could not be decoded', { cause: describe(cause) });
  }
}

/** Go twirp answers with protojson UseProtoNames + EmitUnpopulated: snake_case keys, defaults included. */
export function encodeResponse(message: WireMessage, format: WireFormat): { contentType: string; body: string | Uint8Array } {
  if (format === 'protobuf') return { contentType: 'application/protobuf', body: message.toBinary() };
  const json = message.toJson({ useProtoFieldName: true, emitDefaultValues: true });
  return { contentType: 'application/json', body: JSON.stringify(json) };
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
