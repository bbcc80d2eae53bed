// POST /livekit/webhook, answered by the HTTP server before express sees the request. LiveKit posts
// an event for every join, leave, track and recording change in every room, so this is the busiest
// route by far; express's routing and body parsing cost several times the rest of the work (measured
// in bench/webhook.bench.ts). The signature covers the raw bytes, so the body is read as sent.
// Everything else about the request is as on any route: a request id, the security headers, the
// access log line, and problem+json for every failure.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AppError } from '../shared/errors.js';
import { asAppError, sendProblem } from '../http/app.js';
import { beginRequest, type RequestContextOptions } from '../http/context.js';
import type { Logger } from '../logging.js';
import type { LiveKitEventIntake } from './livekit-events.service.js';

export const LIVEKIT_WEBHOOK_PATH = '/livekit/webhook';
const MAX_BODY_BYTES = 1024 * 1024;
const MEDIA_TYPES = new Set(['application/webhook+json', 'application/json']);

/** Returns true when it took the request (POST to the webhook path); otherwise leaves it to express. */
export type RequestInterceptor = (req: IncomingMessage, res: ServerResponse) => boolean;

export function liveKitWebhookInterceptor(intake: LiveKitEventIntake | undefined, log: Logger, options: RequestContextOptions = {}): RequestInterceptor {
  return (req, res) => {
    if (req.method !== 'POST') return false;
    const url = req.url ?? '';
    const query = url.indexOf('?');
    const path = query < 0 ? url : url.slice(0, query);
    if (path !== LIVEKIT_WEBHOOK_PATH && path !== `${LIVEKIT_WEBHOOK_PATH}/`) return false;
    const context = beginRequest(log, req, res, () => path, options);
    const fail = (error: unknown) => {
      if (res.headersSent || res.destroyed) return;
      // A body left unread would be taken for the next request on this connection.
      if (!req.complete) res.setHeader('Connection', 'close');
      sendProblem(res, asAppError(error, context.log), path, context.requestId, context.log);
    };
    try {
      const body = readBody(req);
      void body
        .then(async (text) => {
          if (!intake) throw new AppError('SERVICE_UNAVAILABLE', 'LiveKit is not configured on this server');
          const result = await intake.receive(text, req.headers.authorization);
          const answer = result.duplicate ? '{"received":true,"duplicate":true}' : '{"received":true,"duplicate":false}';
          res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': answer.length });
          res.end(answer);
        })
        .catch(fail);
    } catch (error) {
      fail(error);
    }
    return true;
  };
}

/** The body as UTF-8 text, refused before reading when its type, encoding or size is wrong. */
function readBody(req: IncomingMessage): Promise<string> {
  const [mediaType = '', ...parameters] = (req.headers['content-type'] ?? '').split(';');
  const charset = parameters.map((p) => p.trim().toLowerCase()).find((p) => p.startsWith('charset='));
  if (!MEDIA_TYPES.has(mediaType.trim().toLowerCase()) || (charset && !/^charset="?utf-8"?$/.test(charset))) {
    throw new AppError('UNSUPPORTED_MEDIA_TYPE', 'Send the webhook as application/webhook+json (UTF-8)');
  }
  const encoding = (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  if (encoding !== 'identity') throw new AppError('UNSUPPORTED_MEDIA_TYPE', `Content-Encoding ${encoding} is not accepted here`);
  const declared = Number(req.headers['content-length'] ?? Number.NaN);
  if (declared > MAX_BODY_BYTES) throw new AppError('PAYLOAD_TOO_LARGE', 'The body is larger than 1 MB');

  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        req.removeAllListeners('data');
        req.resume();
        reject(new AppError('PAYLOAD_TOO_LARGE', 'The body is larger than 1 MB'));
        return;
      }
      chunks.push(chunk);
    });
    req.once('end', () => {
      const text = chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8');
      if (text.length === 0) reject(new AppError('UNSUPPORTED_MEDIA_TYPE', 'Send the webhook as application/webhook+json'));
      else resolve(text);
    });
    req.once('error', reject);
  });
}
