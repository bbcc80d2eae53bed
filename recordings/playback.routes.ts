// GET /api/recordings/:id/media: streamed from the object store with HTTP Range support, or a
// short-lived presigned URL; every access audited before a byte is sent.
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import type { Request, Response } from 'express';
import { z } from 'zod';
import type { Role } from '../server/db/generated/prisma/enums.js';
import { AppError } from '../server/shared/errors.js';
import { defineRoute, type RouteDefinition } from '../server/http/route.js';
import { binaryBody, idParam, timestamp } from '../server/shared/schemas.js';
import { requireUser, type UserPrincipal } from '../server/auth/principal.js';
import type { Logger } from '../server/logging.js';
import { parseRange, type PlayableRecording, type PlaybackService, type RangeRequest } from './playback.service.js';

export interface StreamingRouteSpec<P extends z.ZodType> {
  path: string;
  summary: string;
  tags: string[];
  /** Signed-in users with one of these roles; media is never served to API keys. */
  roles: readonly Role[];
  params: P;
  responses: Record<number, { description: string; contentTypes?: Record<string, z.ZodType> }>;
  handler(input: { params: z.output<P>; principal: UserPrincipal; req: Request; res: Response }): Promise<void>;
}

/** A GET (and HEAD) route whose handler writes the response itself: streams, binary bodies. */
export function defineStreamingRoute<P extends z.ZodType>(spec: StreamingRouteSpec<P>): RouteDefinition {
  return defineRoute({
    method: 'get',
    path: spec.path,
    summary: spec.summary,
    tags: spec.tags,
    access: { roles: spec.roles },
    params: spec.params,
    responses: spec.responses,
    async handler({ params, ctx, req }) {
      const principal = requireUser(ctx.principal);
      return { status: 200, respond: (res) => spec.handler({ params, principal, req, res }) };
    },
  });
}

/**
 * Pipes a store object to the client with backpressure. If the client goes away, pipeline destroys
 * the store stream too, which releases its connection instead of leaving it paused forever.
 */
export async function streamToClient(body: Readable, res: Response, log: Logger): Promise<void> {
  try {
    await pipeline(body, res);
  } catch (error) {
    // Headers are out, so there is no problem+json to send: pipeline has cut the response, and the
    // client sees it end short of Content-Length.
    if ((error as NodeJS.ErrnoException).code === 'ERR_STREAM_PREMATURE_CLOSE') log.info('client went away during a media response');
    else log.warn({ err: error }, 'media stream failed mid-response');
  }
}

const binary = binaryBody;
const playbackUrlSchema = z.object({ url: z.url(), expiresAt: timestamp }).meta({ id: 'RecordingPlaybackUrl' });

export function playbackRoutes(playback: PlaybackService): RouteDefinition[] {
  return [
    defineStreamingRoute({
      path: '/api/recordings/:id/media',
      summary: 'Play a verified recording: byte ranges streamed, or a short-lived URL (PLAYBACK_MODE); every access is audited',
      tags: ['recordings'],
      roles: ['AGENT', 'SUPERVISOR', 'AUDITOR', 'ADMIN'],
      params: idParam,
      responses: {
        200: {
          description: 'The whole recording (stream mode), or { url, expiresAt } (presigned mode)',
          contentTypes: { 'video/mp4': binary, 'audio/ogg': binary, 'application/json': playbackUrlSchema },
        },
        206: { description: 'The requested byte range', contentTypes: { 'video/mp4': binary, 'audio/ogg': binary } },
        416: { description: 'The Range header is malformed, asks for several ranges, or lies outside the recording; Content-Range: bytes */size' },
      },
      async handler({ params, principal, req, res }) {
        const recording = await playback.authorize(params.id, principal);
        const rangeHeader = req.get('range');
        res.setHeader('Cache-Control', 'no-store');
        // HEAD tells a player the size and type; it serves no content, so it opens and audits nothing.
        if (req.method === 'HEAD') {
          if (playback.mode === 'presigned') res.status(200).type('application/json').end();
          else describeMedia(res, recording, parseRange(rangeHeader, recording.size)).end();
          return;
        }
        const result = await playback.open(recording, principal, rangeHeader, req.ctx.requestId);
        switch (result.kind) {
          case 'presigned':
            res.status(200).type('application/json').send(JSON.stringify(playbackUrlSchema.parse({ url: result.url, expiresAt: result.expiresAt.toISOString() })));
            return;
          case 'unsatisfiable':
            describeMedia(res, recording, { kind: 'unsatisfiable', reason: result.reason });
            throw new AppError('RANGE_NOT_SATISFIABLE', `Range "${(rangeHeader ?? '').slice(0, 64)}": ${result.reason}; the recording has ${recording.size} bytes`);
          case 'stream':
            describeMedia(res, recording, result.range ? { kind: 'partial', ...result.range } : { kind: 'whole' });
            await streamToClient(result.body, res, req.ctx.log);
            return;
        }
      },
    }),
  ];
}

function describeMedia(res: Response, recording: PlayableRecording, range: RangeRequest): Response {
  res.setHeader('Accept-Ranges', 'bytes');
  switch (range.kind) {
    case 'unsatisfiable':
      return res.status(416).setHeader('Content-Range', `bytes */${recording.size}`);
    case 'whole':
      return res.status(200).type(recording.contentType).setHeader('Content-Length', String(recording.size));
    case 'partial':
      return res
        .status(206)
        .type(recording.contentType)
        .setHeader('Content-Range', `bytes ${range.start}-${range.end}/${recording.size}`)
        .setHeader('Content-Length', String(range.end - range.start + 1));
  }
}

