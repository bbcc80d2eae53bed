// Verifies a LiveKit webhook the way the SDK's WebhookReceiver does — an HS256 JWT signed with the API
// secret, issued by the API key, carrying an expiry and the base64 SHA-256 of the exact body — but
// synchronously with node:crypto. The SDK hashes the body through WebCrypto's promise-based digest and
// builds a new key for every call, which under load cost more CPU than the rest of intake together.
// test/unit/webhook-verifier.test.ts checks that both accept and reject the same deliveries.
import { createHash, createHmac, createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto';
import { WebhookEvent } from 'livekit-server-sdk';

/** The SDK's default skew allowance for `exp` and `nbf`, in seconds. */
export const WEBHOOK_CLOCK_TOLERANCE_SECONDS = 10;

export class WebhookVerificationError extends Error {}

const fail = (reason: string): never => {
  throw new WebhookVerificationError(reason);
};

const decodeJsonPart = (part: string, what: string): Record<string, unknown> => {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
  } catch {
    return fail(`the token's ${what} is not JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return fail(`the token's ${what} is not an object`);
  return value as Record<string, unknown>;
};

export class LiveKitWebhookVerifier {
  private readonly key: KeyObject;

  constructor(
    private readonly apiKey: string,
    apiSecret: string,
    private readonly now: () => number = Date.now,
  ) {
    this.key = createSecretKey(Buffer.from(apiSecret, 'utf8'));
  }

  /** Returns the event when the signature, issuer, expiry and body hash all hold; throws otherwise. */
  verify(body: string, authorization: string | undefined): WebhookEvent {
    if (!authorization) return fail('authorization header is empty');
    const parts = authorization.split('.');
    if (parts.length !== 3) return fail('the token is not a compact JWS');
    const [header64, payload64, signature64] = parts as [string, string, string];
    const header = decodeJsonPart(header64, 'header');
    // LiveKit signs with HS256 only; anything else (including "none") is refused before any key use.
    if (header.alg !== 'HS256') return fail('unexpected token algorithm');
    if (header.crit !== undefined) return fail('unsupported critical header');
    const expected = createHmac('sha256', this.key).update(`${header64}.${payload64}`).digest();
    const given = Buffer.from(signature64, 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected) || given.toString('base64url') !== signature64) return fail('signature verification failed');

    const claims = decodeJsonPart(payload64, 'payload');
    if (claims.iss !== this.apiKey) return fail('unexpected "iss" claim value');
    const nowSeconds = Math.floor(this.now() / 1000);
    if (claims.exp === undefined) return fail('missing required "exp" claim');
    if (typeof claims.exp !== 'number') return fail('"exp" claim must be a number');
    if (claims.exp <= nowSeconds - WEBHOOK_CLOCK_TOLERANCE_SECONDS) return fail('"exp" claim timestamp check failed');
    if (claims.nbf !== undefined) {
      if (typeof claims.nbf !== 'number') return fail('"nbf" claim must be a number');
      if (claims.nbf > nowSeconds + WEBHOOK_CLOCK_TOLERANCE_SECONDS) return fail('"nbf" claim timestamp check failed');
    }
    if (claims.iat !== undefined && typeof claims.iat !== 'number') return fail('"iat" claim must be a number');
    if (claims.sha256 !== createHash('sha256').update(body, 'utf8').digest('base64')) return fail('sha256 checksum of body does not match');

    try {
      return WebhookEvent.fromJson(JSON.parse(body) as never, { ignoreUnknownFields: true });
    } catch (error) {
      return fail(`the body is not a LiveKit webhook event: ${(error as Error).message}`);
    }
  }
}
