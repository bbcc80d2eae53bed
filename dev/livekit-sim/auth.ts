// Authentication and grants as livekit-server checks them (pkg/service/auth.go, livekit/protocol auth):
// a bearer HS256 JWT whose issuer is the API key. A present-but-bad token is refused by the HTTP
// middleware with a plain-text 401 before Twirp sees the request; a missing token or a missing grant is
// refused by the Twirp handler with `unauthenticated: permissions denied`.
import { TokenVerifier } from 'livekit-server-sdk';
import { z } from 'zod';
import { permissionDenied } from './twirp.js';

const videoGrantSchema = z.looseObject({
  roomCreate: z.boolean().optional(),
  roomJoin: z.boolean().optional(),
  roomList: z.boolean().optional(),
  roomRecord: z.boolean().optional(),
  roomAdmin: z.boolean().optional(),
  room: z.string().optional(),
  canPublish: z.boolean().optional(),
  canSubscribe: z.boolean().optional(),
  canPublishData: z.boolean().optional(),
  canPublishSources: z.array(z.string()).optional(),
  canUpdateOwnMetadata: z.boolean().optional(),
  hidden: z.boolean().optional(),
  recorder: z.boolean().optional(),
  agent: z.boolean().optional(),
});

const claimsSchema = z.looseObject({
  iss: z.string(),
  sub: z.string().optional(),
  name: z.string().optional(),
  kind: z.string().optional(),
  metadata: z.string().optional(),
  attributes: z.record(z.string(), z.string()).optional(),
  video: videoGrantSchema.optional(),
  sip: z.looseObject({ admin: z.boolean().optional(), call: z.boolean().optional() }).optional(),
});

export type Claims = z.infer<typeof claimsSchema>;
export type VideoGrant = z.infer<typeof videoGrantSchema>;

export interface ApiKeyPair {
  apiKey: string;
  apiSecret: string;
}

/** A request refused before routing: LiveKit writes the message as a plain-text body. */
export class AuthRejection extends Error {
  readonly status = 401;
}

// go-jose's default leeway, which livekit's verifier inherits.
const CLOCK_TOLERANCE_SECONDS = 60;

/** Returns the verified claims, or undefined when the request carries no token at all. */
export async function authenticateRequest(
  authorization: string | undefined,
  queryToken: string | null,
  keys: ApiKeyPair,
): Promise<Claims | undefined> {
  let token: string;
  if (authorization !== undefined && authorization !== '') {
    if (!authorization.startsWith('Bearer ')) {
      throw new AuthRejection('invalid authorization header. Must start with Bearer ');
    }
    token = authorization.slice('Bearer '.length);
  } else if (queryToken) {
    token = queryToken;
  } else {
    return undefined;
  }
  if (token === '') return undefined;
  return verifyToken(token, keys);
}

export async function verifyToken(token: string, keys: ApiKeyPair): Promise<Claims> {
  const issuer = unverifiedIssuer(token);
  if (issuer === undefined) throw new AuthRejection('invalid authorization token');
  // The real server looks the secret up by the token's issuer; it knows one key pair here.
  if (issuer !== keys.apiKey) throw new AuthRejection('invalid API key');
  let payload: unknown;
  try {
    payload = await new TokenVerifier(keys.apiKey, keys.apiSecret).verify(token, CLOCK_TOLERANCE_SECONDS);
  } catch (error) {
    throw new AuthRejection(`invalid authorization token: ${verificationFailure(error)}`);
  }
  const claims = claimsSchema.safeParse(payload);
  if (!claims.success) {
    throw new AuthRejection(`invalid authorization token: ${claims.error.issues[0]?.message ?? 'bad claims'}`);
  }
  return claims.data;
}

function unverifiedIssuer(token: string): string | undefined {
  const [header, payload, signature] = token.split('.');
  if (header === undefined || payload === undefined || signature === undefined) return undefined;
  try {
    const parsedHeader: unknown = JSON.parse(Buffer.from(header, 'base64url').toString('utf8'));
    const parsedPayload: unknown = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    const alg = z.object({ alg: z.literal('HS256') }).safeParse(parsedHeader);
    const iss = z.object({ iss: z.string().min(1) }).safeParse(parsedPayload);
    return alg.success && iss.success ? iss.data.iss : undefined;
  } catch {
    return undefined;
  }
}

// The Go server reports go-jose's wording; map jose's error codes onto it.
function verificationFailure(error: unknown): string {
  const code = typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : '';
  const claim = typeof error === 'object' && error !== null && 'claim' in error ? String(error.claim) : '';
  if (code === 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED') return 'go-jose/go-jose: error in cryptographic primitive';
  if (code === 'ERR_JWT_EXPIRED') return 'go-jose/go-jose/jwt: validation failed, token is expired (exp)';
  if (code === 'ERR_JWT_CLAIM_VALIDATION_FAILED' && claim === 'nbf') {
    return 'go-jose/go-jose/jwt: validation failed, token not valid yet (nbf)';
  }
  return error instanceof Error ? error.message : String(error);
}

// ---- grants ---------------------------------------------------------------------------------------------

export type Permission =
  | { grant: 'roomCreate' }
  | { grant: 'roomList' }
  | { grant: 'roomAdmin'; room: string }
  | { grant: 'roomRecord' }
  | { grant: 'sipAdmin' }
  | { grant: 'sipCall' };

export function hasPermission(claims: Claims | undefined, permission: Permission): boolean {
  const video = claims?.video;
  switch (permission.grant) {
    case 'roomCreate':
      return video?.roomCreate === true;
    case 'roomList':
      return video?.roomList === true;
    case 'roomAdmin':
      return video?.roomAdmin === true && (video.room ?? '') === permission.room;
    case 'roomRecord':
      return video?.roomRecord === true;
    case 'sipAdmin':
      return claims?.sip?.admin === true;
    case 'sipCall':
      return claims?.sip?.call === true;
  }
}

export function requirePermission(claims: Claims | undefined, permission: Permission): void {
  if (!hasPermission(claims, permission)) throw permissionDenied();
}
