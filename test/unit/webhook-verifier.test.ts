// facesign's synchronous webhook verifier against the SDK's WebhookReceiver, which it replaces on the
// hot path: the same deliveries are accepted (with the same event) and the same are refused.
import { createHash, createHmac } from 'node:crypto';
import fc from 'fast-check';
import { AccessToken, WebhookEvent, WebhookReceiver } from 'livekit-server-sdk';
import { describe, expect, it } from 'vitest';
import { LiveKitWebhookVerifier, WebhookVerificationError } from '../../server/livekit/webhook-verifier.js';

const KEY = 'APIwebhookkey';
const SECRET = 'a-webhook-secret-of-some-length-0123456789';
const sdk = new WebhookReceiver(KEY, SECRET);
const ours = new LiveKitWebhookVerifier(KEY, SECRET);

const b64url = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
const bodyHash = (body: string) => createHash('sha256').update(body, 'utf8').digest('base64');
const nowSeconds = () => Math.floor(Date.now() / 1000);

/** A JWT made by hand, so that every header and claim can be chosen. */
function token(claims: Record<string, unknown>, options: { header?: Record<string, unknown>; secret?: string } = {}): string {
  const head = b64url(options.header ?? { alg: 'HS256', typ: 'JWT' });
  const payload = b64url(claims);
  const signature = createHmac('sha256', options.secret ?? SECRET).update(`${head}.${payload}`).digest('base64url');
  return `${head}.${payload}.${signature}`;
}

function event(overrides: Record<string, unknown> = {}): string {
  return JSON.stringify(
    WebhookEvent.fromJson({
      event: 'participant_joined',
      id: 'EV_verifier_1',
      createdAt: String(nowSeconds()),
      room: { name: 'fs-0b0e6a5c-7f7e-4d47-9d0e-0e6e8f1b2c3d', sid: 'RM_1' },
      participant: { sid: 'PA_1', identity: 'party-1', state: 'ACTIVE' },
      ...overrides,
    }).toJson(),
  );
}

const claimsFor = (body: string, extra: Record<string, unknown> = {}) => ({ iss: KEY, exp: nowSeconds() + 300, nbf: nowSeconds() - 1, sha256: bodyHash(body), ...extra });

async function sdkVerdict(body: string, authorization: string | undefined): Promise<unknown> {
  try {
    return (await sdk.receive(body, authorization)).toJson();
  } catch {
    return 'refused';
  }
}

function ourVerdict(body: string, authorization: string | undefined): unknown {
  try {
    return ours.verify(body, authorization).toJson();
  } catch (error) {
    expect(error).toBeInstanceOf(WebhookVerificationError);
    return 'refused';
  }
}

describe('LiveKitWebhookVerifier', () => {
  it('accepts a webhook signed by the SDK and returns the event the SDK returns', async () => {
    const body = event({ egressInfo: { egressId: 'EG_1', roomName: 'fs-x', status: 'EGRESS_ACTIVE' } });
    const at = new AccessToken(KEY, SECRET, { ttl: '5m' });
    at.sha256 = bodyHash(body);
    const authorization = await at.toJwt();
    const verified = ours.verify(body, authorization);
    expect(verified.toJson()).toEqual((await sdk.receive(body, authorization)).toJson());
    expect(verified).toMatchObject({ id: 'EV_verifier_1', event: 'participant_joined', room: { name: 'fs-0b0e6a5c-7f7e-4d47-9d0e-0e6e8f1b2c3d' } });
  });

  const body = event();
  const refusals: [string, string | undefined, string?][] = [
    ['no Authorization header', undefined],
    ['not a JWT', 'Bearer something'],
    ['signed with another secret', token(claimsFor(body), { secret: 'not-the-secret' })],
    ['alg "none" with no signature', `${b64url({ alg: 'none' })}.${b64url(claimsFor(body))}.`],
    ['HS256 header but signature stripped', token(claimsFor(body)).replace(/\.[^.]+$/, '.')],
    ['another issuer', token(claimsFor(body, { iss: 'someone-else' }))],
    ['no expiry', token({ iss: KEY, sha256: bodyHash(body) })],
    ['expired beyond the 10 s allowance', token(claimsFor(body, { exp: nowSeconds() - 30 }))],
    ['not valid before a time 60 s ahead', token(claimsFor(body, { nbf: nowSeconds() + 60 }))],
    ['expiry that is not a number', token(claimsFor(body, { exp: String(nowSeconds() + 300) }))],
    ['hash of another body', token(claimsFor(event({ id: 'EV_other' })))],
    ['body changed after signing', token(claimsFor(body)), body.replace('party-1', 'party-2')],
    ['a body that is not JSON', token(claimsFor('not json')), 'not json'],
    ['claims that are not JSON', `${b64url({ alg: 'HS256' })}.${b64url('nope')}.${createHmac('sha256', SECRET).update(`${b64url({ alg: 'HS256' })}.${b64url('nope')}`).digest('base64url')}`],
  ];
  it.each(refusals)('refuses a delivery with %s, as the SDK does', async (_what, authorization, sentBody = body) => {
    expect(ourVerdict(sentBody, authorization)).toBe('refused');
    expect(await sdkVerdict(sentBody, authorization)).toBe('refused');
  });

  it('accepts an expiry a few seconds past, within the same 10 s allowance as the SDK', async () => {
    const authorization = token(claimsFor(body, { exp: nowSeconds() - 3 }));
    expect(ourVerdict(body, authorization)).not.toBe('refused');
    expect(await sdkVerdict(body, authorization)).not.toBe('refused');
  });

  it('refuses a signature spelled non-canonically (same bytes, other unused bits), which the SDK lets through', async () => {
    const authorization = token(claimsFor(body));
    const last = authorization.at(-1)!;
    // Flip the lowest bit of the last base64url digit: for a 32-byte HMAC those bits are unused.
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const twin = authorization.slice(0, -1) + alphabet[alphabet.indexOf(last) ^ 1];
    expect(nonCanonicalTwin(authorization, twin)).toBe(true);
    expect(await sdkVerdict(body, twin)).not.toBe('refused');
    expect(ourVerdict(body, twin)).toBe('refused');
  });

  it('refuses other HMAC algorithms, which LiveKit never signs with', () => {
    expect(ourVerdict(body, token(claimsFor(body), { header: { alg: 'HS512' } }))).toBe('refused');
  });

  it('agrees with the SDK on deliveries with any one character of token or body changed, and on any expiry', async () => {
    const authorization = token(claimsFor(body));
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          part: fc.constantFrom('token', 'body', 'expiry'),
          at: fc.nat(),
          char: fc.constantFrom(...'AZaz09-_.{}":, x'.split('')),
          // Seconds from now, kept clear of the allowance's edge so the two verdicts cannot straddle a second.
          expiresIn: fc.oneof(fc.integer({ min: -3600, max: -13 }), fc.integer({ min: -7, max: 3600 })),
        }),
        async ({ part, at, char, expiresIn }) => {
          let sentBody = body;
          let sentToken = authorization;
          if (part === 'token') sentToken = replaceAt(authorization, at % authorization.length, char);
          else if (part === 'body') sentBody = replaceAt(body, at % body.length, char);
          else sentToken = token(claimsFor(body, { exp: nowSeconds() + expiresIn }));
          // One deliberate difference: a signature whose last character differs only in base64url's
          // unused bits decodes to the same bytes; the SDK's decoder accepts it, ours refuses it.
          if (nonCanonicalTwin(authorization, sentToken)) expect(ourVerdict(sentBody, sentToken)).toBe('refused');
          else expect(ourVerdict(sentBody, sentToken)).toEqual(await sdkVerdict(sentBody, sentToken));
        },
      ),
      { numRuns: 400 },
    );
  });
});

/** True when `changed` carries the same signature bytes as `original` in a different (non-canonical) spelling. */
function nonCanonicalTwin(original: string, changed: string): boolean {
  const sig = (t: string) => t.split('.')[2] ?? '';
  return sig(original) !== sig(changed) && Buffer.from(sig(original), 'base64url').equals(Buffer.from(sig(changed), 'base64url'));
}

function replaceAt(text: string, index: number, char: string): string {
  return text.slice(0, index) + char + text.slice(index + 1);
}
