// Wires the simulator together and serves it over HTTP: Twirp under /twirp/, the control API under
// /_sim/, LiveKit's health check at /.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SimClock } from './clock.js';
import { handleControl } from './control-http.js';
import { SimulatorControl } from './control.js';
import { EgressService } from './egress-service.js';
import { FaultPlan } from './faults.js';
import { allowCors, answerPreflight, writeText } from './http-util.js';
import { RoomManager } from './rooms.js';
import { RoomMedia } from './room-media.js';
import { SipService } from './sip-service.js';
import { handleTwirp } from './twirp-handler.js';
import { buildTwirpServices } from './twirp-services.js';
import { WebhookDispatcher } from './webhooks.js';

export interface LiveKitSimulatorOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  host?: string;
  /** Defaults to `livekit-server --dev`'s `devkey`. */
  apiKey?: string;
  /** Defaults to `livekit-server --dev`'s `secret`. */
  apiSecret?: string;
  /** Where webhooks are POSTed; can be changed later with `control.setWebhookUrls`. */
  webhookUrls?: readonly string[];
  /** Real seconds per simulated second, e.g. 0.01 to run scripted calls 100x faster. Default 1. */
  timeScale?: number;
}

export interface RunningLiveKitSimulator {
  /** The LIVEKIT_URL to give livekit-server-sdk clients (http://host:port). */
  url: string;
  apiKey: string;
  apiSecret: string;
  control: SimulatorControl;
  stop(): Promise<void>;
}

export async function startLiveKitSimulator(options: LiveKitSimulatorOptions = {}): Promise<RunningLiveKitSimulator> {
  const keys = { apiKey: options.apiKey ?? 'devkey', apiSecret: options.apiSecret ?? 'secret' };
  const clock = new SimClock(options.timeScale ?? 1);
  const faults = new FaultPlan();
  const webhooks = new WebhookDispatcher(keys, clock, faults, options.webhookUrls ?? []);
  const rooms = new RoomManager(clock, webhooks);
  const media = new RoomMedia(clock);
  const sip = new SipService(rooms, clock, media);
  const egress = new EgressService(rooms, webhooks, clock, faults);
  const control = new SimulatorControl({ keys, clock, rooms, sip, egress, webhooks, faults, media });
  const services = buildTwirpServices({ rooms, sip, egress });

  const serve = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const url = new URL(request.url ?? '/', 'http://livekit-sim');
    if (request.method === 'OPTIONS') {
      answerPreflight(request, response);
      return;
    }
    allowCors(request, response);
    if (url.pathname.startsWith('/twirp/')) {
      await handleTwirp(request, response, url, { keys, services, faults, clock });
    } else if (url.pathname.startsWith('/_sim/')) {
      await handleControl(request, response, url, control);
    } else if (url.pathname === '/') {
      writeText(response, 200, 'OK');
    } else {
      writeText(response, 404, '404 page not found\n');
    }
  };

  const server = createServer((request, response) => {
    serve(request, response).catch((error: unknown) => {
      if (!response.headersSent) writeText(response, 500, error instanceof Error ? error.message : String(error));
      else response.destroy();
    });
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  let stopping: Promise<void> | undefined;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    apiKey: keys.apiKey,
    apiSecret: keys.apiSecret,
    control,
    stop() {
      stopping ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeAllConnections();
        clock.cancelAll();
        sip.stop();
        egress.stop();
        rooms.stop();
        media.stop();
        await egress.settled();
        webhooks.stop();
        await closed;
      })();
      return stopping;
    },
  };
}
