// The control API over HTTP, under /_sim/, for browser pages, child processes and other languages. Bodies
// and answers are JSON; LiveKit objects are in protojson (as in webhooks). Errors are
// `{"code","msg"}` with the HTTP status of the Twirp code.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { DisconnectReason } from '@livekit/protocol';
import { z } from 'zod';
import type { SimulatorControl } from './control.js';
import { TWIRP_FAULT_CODES, WEBHOOK_EVENT_NAMES } from './faults.js';
import { BodyTooLarge, readBody } from './http-util.js';
import { TwirpError, writeBody, writeTwirpError } from './twirp.js';

const name = z.string().min(1);
const participantRef = z.object({ room: name, identity: name });
const disconnectReasons = Object.keys(DisconnectReason).filter((key) => Number.isNaN(Number(key))) as [
  keyof typeof DisconnectReason,
  ...(keyof typeof DisconnectReason)[],
];

const schemas = {
  join: z.object({ token: name, room: name.optional() }),
  disconnect: participantRef.extend({ reason: z.enum(disconnectReasons).optional() }),
  reconnect: participantRef.extend({ offlineSeconds: z.number().nonnegative().optional() }),
  publish: participantRef.extend({
    kind: z.enum(['audio', 'video']),
    source: z.enum(['camera', 'microphone', 'screen_share', 'screen_share_audio']).optional(),
    name: z.string().optional(),
    muted: z.boolean().optional(),
  }),
  unpublish: participantRef.extend({ trackSid: name }),
  call: z.object({ callId: name }),
  reject: z.object({ callId: name, code: z.number().int().min(300).max(699), reason: z.string().optional() }),
  webhookUrls: z.object({ urls: z.array(z.url()) }),
  webhookFault: z.object({
    action: z.enum(['drop', 'duplicate', 'delay', 'reorder']),
    event: z.enum([...WEBHOOK_EVENT_NAMES, '*']),
    room: name.optional(),
    count: z.number().int().positive().optional(),
    delaySeconds: z.number().nonnegative().optional(),
  }),
  twirpFault: z.object({
    code: z.enum(TWIRP_FAULT_CODES).optional(),
    delaySeconds: z.number().nonnegative().optional(),
    count: z.number().int().positive().optional(),
    service: z.enum(['RoomService', 'Egress', 'SIP']).optional(),
    method: name.optional(),
  }),
  egressFault: z.object({
    kind: z.enum(['fail', 'upload']),
    room: name.optional(),
    count: z.number().int().positive().optional(),
    error: z.string().optional(),
    afterSeconds: z.number().nonnegative().optional(),
  }),
  failEgress: z.object({ egressId: name, error: z.string().optional() }),
};

/** Answers `undefined` for 204 No Content, anything else is sent as JSON. */
type Route = (body: unknown, control: SimulatorControl) => unknown;

/** Keeps optional properties absent rather than `undefined`, as exactOptional-style APIs expect. */
function defined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, entry]) => entry !== undefined)) as T;
}

const ROUTES: Readonly<Record<string, Route>> = {
  'GET /_sim/state': (_body, control) => stateJson(control),
  'GET /_sim/webhooks': (_body, control) => control.webhookDeliveries(),
  'PUT /_sim/webhooks/urls': (body, control) => {
    control.setWebhookUrls(schemas.webhookUrls.parse(body).urls);
    return undefined;
  },
  'POST /_sim/participants/join': async (body, control) => {
    const { token, room } = schemas.join.parse(body);
    return (await control.join(token, defined({ room }))).toJson();
  },
  'POST /_sim/participants/join-aborted': async (body, control) => {
    const { token, room } = schemas.join.parse(body);
    return (await control.joinAborted(token, defined({ room }))).toJson();
  },
  'POST /_sim/participants/leave': (body, control) => {
    const { room, identity } = participantRef.parse(body);
    control.leave(room, identity);
    return undefined;
  },
  'POST /_sim/participants/disconnect': (body, control) => {
    const { room, identity, reason } = schemas.disconnect.parse(body);
    control.disconnect(room, identity, reason);
    return undefined;
  },
  'POST /_sim/participants/reconnect': async (body, control) => {
    const { room, identity, offlineSeconds } = schemas.reconnect.parse(body);
    return (await control.reconnect(room, identity, defined({ offlineSeconds }))).toJson();
  },
  'POST /_sim/tracks/publish': (body, control) => {
    const { room, identity, ...track } = schemas.publish.parse(body);
    return control.publishTrack(room, identity, defined(track)).toJson();
  },
  'POST /_sim/tracks/unpublish': (body, control) => {
    const { room, identity, trackSid } = schemas.unpublish.parse(body);
    control.unpublishTrack(room, identity, trackSid);
    return undefined;
  },
  'POST /_sim/calls/answer': (body, control) => {
    control.answerCall(schemas.call.parse(body).callId);
    return undefined;
  },
  'POST /_sim/calls/reject': (body, control) => {
    const { callId, code, reason } = schemas.reject.parse(body);
    control.rejectCall(callId, code, reason);
    return undefined;
  },
  'POST /_sim/calls/hangup': (body, control) => {
    control.hangUpCall(schemas.call.parse(body).callId);
    return undefined;
  },
  'POST /_sim/faults/webhook': (body, control) => {
    control.injectWebhookFault(defined(schemas.webhookFault.parse(body)));
    return undefined;
  },
  'POST /_sim/faults/twirp': (body, control) => {
    control.injectTwirpFault(defined(schemas.twirpFault.parse(body ?? {})));
    return undefined;
  },
  'POST /_sim/faults/egress': (body, control) => {
    control.injectEgressFault(defined(schemas.egressFault.parse(body)));
    return undefined;
  },
  'DELETE /_sim/faults': (_body, control) => {
    control.clearFaults();
    return undefined;
  },
  'POST /_sim/egress/fail': (body, control) => {
    const { egressId, error } = schemas.failEgress.parse(body);
    control.failEgress(egressId, error);
    return undefined;
  },
  'POST /_sim/settle': async (_body, control) => {
    await control.settled();
    return undefined;
  },
};

export async function handleControl(
  request: IncomingMessage,
  response: ServerResponse,
  url: URL,
  control: SimulatorControl,
): Promise<void> {
  const route = ROUTES[`${request.method ?? ''} ${url.pathname}`];
  try {
    if (route === undefined) throw new TwirpError('not_found', `no control route ${request.method ?? ''} ${url.pathname}`);
    const result = await route(await parseJsonBody(request), control);
    if (result === undefined) {
      response.statusCode = 204;
      response.end();
      return;
    }
    writeBody(response, 200, 'application/json', JSON.stringify(result));
  } catch (error) {
    writeTwirpError(response, asTwirpError(error));
  }
}

async function parseJsonBody(request: IncomingMessage): Promise<unknown> {
  const body = await readBody(request);
  if (body.byteLength === 0) return undefined;
  try {
    return JSON.parse(body.toString('utf8')) as unknown;
  } catch {
    throw new TwirpError('malformed', 'the json request could not be decoded');
  }
}

function asTwirpError(error: unknown): TwirpError {
  if (error instanceof TwirpError) return error;
  if (error instanceof z.ZodError) {
    const issue = error.issues[0];
    return new TwirpError('invalid_argument', issue === undefined ? 'invalid request' : `${issue.path.join('.')}: ${issue.message}`);
  }
  if (error instanceof BodyTooLarge) return new TwirpError('malformed', error.message);
  return new TwirpError('internal', error instanceof Error ? error.message : String(error));
}

function stateJson(control: SimulatorControl): Record<string, unknown> {
  const state = control.state();
  return {
    rooms: state.rooms.map(({ room, participants }) => ({
      room: room.toJson(),
      participants: participants.map((participant) => participant.toJson()),
    })),
    egress: state.egress.map(({ info, pipeline }) => ({ info: info.toJson(), pipeline })),
    trunks: state.trunks.map((trunk) => trunk.toJson()),
    calls: state.calls,
    webhookUrls: state.webhookUrls,
  };
}
