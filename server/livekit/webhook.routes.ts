// POST /livekit/webhook. Mounted before the JSON body parser: the signature covers the raw bytes,
// and re-serialising a parsed body would break the hash.
import express, { type Router } from 'express';
import { AppError } from '../http/errors.js';
import type { LiveKitEventIntake } from './livekit-events.service.js';

export function liveKitWebhookRouter(intake: LiveKitEventIntake | undefined): Router {
  const router = express.Router();
  router.post('/', express.text({ type: ['application/webhook+json', 'application/json'], limit: '1mb' }), async (req, res) => {
    if (!intake) throw new AppError('SERVICE_UNAVAILABLE', 'LiveKit is not configured on this server');
    if (typeof req.body !== 'string' || req.body.length === 0) throw new AppError('UNSUPPORTED_MEDIA_TYPE', 'Send the webhook as application/webhook+json');
    const result = await intake.receive(req.body, req.get('authorization'));
    res.status(200).type('application/json').send(JSON.stringify({ received: true, duplicate: result.duplicate }));
  });
  return router;
}
