// One Twirp request, in the order livekit-server handles it: the API-key middleware (plain-text 401 for a
// bad token), then the generated Twirp server (POST only, route, Content-Type, body decoding), then the
// service method (grant check first). Injected `unavailable` faults answer before anything else, as an
// overloaded node or a load balancer would; injected delays hold the call first and then serve it.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ApiKeyPair, Claims } from './auth.js';
import { AuthRejection, authenticateRequest } from './auth.js';
import type { SimClock } from './clock.js';
import type { FaultPlan } from './faults.js';
import { BodyTooLarge, readBody, writeText } from './http-util.js';
import type { TwirpService } from './twirp-services.js';
import type { WireFormat } from './twirp.js';
import { TwirpError, badRoute, encodeResponse, writeBody, writeTwirpError } from './twirp.js';

export interface TwirpHandlerDependencies {
  keys: ApiKeyPair;
  services: ReadonlyMap<string, TwirpService>;
  faults: FaultPlan;
  clock: SimClock;
}

const PREFIX = '/twirp';

export async function handleTwirp(
  request: IncomingMessage,
  response: ServerResponse,
  url: URL,
  { keys, services, faults, clock }: TwirpHandlerDependencies,
): Promise<void> {
  const path = url.pathname;
  const { serviceName, methodName } = parseTwirpPath(path);

  const fault = faults.takeTwirpFault(serviceName, methodName);
  if (fault?.delaySeconds !== undefined) {
    await clock.sleep(fault.delaySeconds);
  } else if (fault !== undefined) {
    writeTwirpError(response, new TwirpError(fault.code ?? 'unavailable', 'livekit-sim: injected fault'));
    return;
  }

  let claims: Claims | undefined;
  try {
    claims = await authenticateRequest(request.headers.authorization, url.searchParams.get('access_token'), keys);
  } catch (error) {
    if (error instanceof AuthRejection) {
      writeText(response, error.status, error.message);
      return;
    }
    throw error;
  }

  const service = services.get(serviceName);
  if (service === undefined) {
    // No Twirp server is mounted there: Go's mux answers with its plain not-found page.
    writeText(response, 404, '404 page not found\n');
    return;
  }
  try {
    const method = request.method ?? '';
    if (method !== 'POST') throw badRoute(`unsupported method "${method}" (only POST is allowed)`, method, path);
    const handler = service.methods.get(methodName);
    if (handler === undefined) {
      if (service.knownMethods.has(methodName)) {
        throw new TwirpError('unimplemented', `livekit-sim does not simulate ${serviceName}.${methodName}`);
      }
      throw badRoute(`no handler for path "${path}"`, method, path);
    }
    const format = wireFormat(request.headers['content-type']);
    if (format === undefined) {
      throw badRoute(`unexpected Content-Type: "${request.headers['content-type'] ?? ''}"`, method, path);
    }
    let body: Buffer;
    try {
      body = await readBody(request);
    } catch (error) {
      if (error instanceof BodyTooLarge) throw new TwirpError('malformed', 'failed to read request body');
      throw error;
    }
    const result = await handler.call(body, format, { claims });
    const encoded = encodeResponse(result, format);
    writeBody(response, 200, encoded.contentType, encoded.body);
  } catch (error) {
    if (error instanceof TwirpError) {
      writeTwirpError(response, error);
      return;
    }
    writeTwirpError(response, new TwirpError('internal', error instanceof Error ? error.message : String(error)));
  }
}

function parseTwirpPath(path: string): { serviceName: string; methodName: string } {
  if (!path.startsWith(`${PREFIX}/`)) return { serviceName: '', methodName: '' };
  const [serviceName = '', methodName = '', ...rest] = path.slice(PREFIX.length + 1).split('/');
  return rest.length === 0 ? { serviceName, methodName } : { serviceName: '', methodName: '' };
}

function wireFormat(contentType: string | undefined): WireFormat | undefined {
  const mediaType = (contentType ?? '').split(';')[0]?.trim().toLowerCase();
  if (mediaType === 'application/json') return 'json';
  if (mediaType === 'application/protobuf') return 'protobuf';
  return undefined;
}
