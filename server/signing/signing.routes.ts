// The published keyring: public keys, certificates and validity windows, for anyone verifying a
// facesign signature offline. Public by design; it holds no personal data.
import { z } from 'zod';
import { defineRoute, type RouteDefinition } from '../http/route.js';
import type { Keyring } from './keyring.js';

export const SIGNING_KEYS_PATH = '/.well-known/facesign-signing-keys.json';

const keyringDocument = z.object({
  version: z.literal(1),
  keys: z.array(z.object({
    keyId: z.string(),
    algorithm: z.enum(['EdDSA', 'ES256']),
    status: z.enum(['current', 'retired']),
    validFrom: z.string(),
    validUntil: z.string(),
    retiredAt: z.string().optional(),
    jwk: z.record(z.string(), z.unknown()),
    certificateChainPem: z.array(z.string()),
  })),
});

export function signingRoutes(keyring: Keyring): RouteDefinition[] {
  return [
    defineRoute({
      method: 'get',
      path: SIGNING_KEYS_PATH,
      summary: 'The platform signing keys (current and retired), with the window in which each signs',
      tags: ['signing'],
      access: 'public',
      responses: { 200: { description: 'The keyring', schema: keyringDocument } },
      async handler() {
        return { status: 200, body: keyring.document(), headers: { 'Cache-Control': 'public, max-age=300' } };
      },
    }),
  ];
}
