// Signs LiveKit webhooks the way LiveKit does (raw JWT in Authorization, sha256 claim of the body),
// so tests can deliver crafted, forged, expired or tampered events.
import { createHash, createHmac } from 'node:crypto';
import { AccessToken, WebhookEvent } from 'livekit-server-sdk';

export function bodyOf(event: WebhookEvent): string {
  return JSON.stringify(event.toJson());
}

export async function signWebhook(body: string, apiKey: string, apiSecret: string): Promise<string> {
  const token = new AccessToken(apiKey, apiSecret, { ttl: '5m' });
  token.sha256 = createHash('sha256').update(body).digest('base64');
  return token.toJwt();
}

/** A correctly signed token whose exp is already past. */
export function expiredSignature(body: string, apiKey: string, apiSecret: string): string {
  const b64 = (v: object) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const head = b64({ alg: 'HS256', typ: 'JWT' });
  const claims = b64({ iss: apiKey, nbf: now - 600, exp: now - 300, sha256: createHash('sha256').update(body).digest('base64'), video: {} });
  const sig = createHmac('sha256', apiSecret).update(`${head}.${claims}`).digest('base64url');
  return `${head}.${claims}.${sig}`;
}

export async function postWebhook(appUrl: string, body: string, authorization: string | undefined) {
  const res = await fetch(`${appUrl}/livekit/webhook`, {
    method: 'POST',
    headers: { 'content-type': 'application/webhook+json', ...(authorization ? { authorization } : {}) },
    body,
  });
  return { status: res.status, contentType: res.headers.get('content-type') ?? '', body: (await res.json()) as Record<string, unknown> };
}

export function participantEvent(
  name: 'participant_joined' | 'participant_left',
  room: string,
  identity: string,
  createdAtSeconds: number,
  id = `EV_${Math.random().toString(36).slice(2, 14)}`,
): WebhookEvent {
  return WebhookEvent.fromJson({
    event: name,
    id,
    createdAt: String(createdAtSeconds),
    room: { name: room, sid: 'RM_test' },
    participant: { sid: `PA_${identity}`, identity, state: name === 'participant_left' ? 'DISCONNECTED' : 'ACTIVE' },
  });
}
