// Shared set-up for the LiveKit simulator tests: the simulator in-process on port 0, a webhook receiver
// that verifies every delivery with the SDK's WebhookReceiver, s3rver in a temp dir, and SDK clients.
import { mkdtemp, rm } from 'node:fs/promises';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import {
  AccessToken,
  EgressClient,
  EncodedFileOutput,
  EncodedFileType,
  S3Upload,
  RoomServiceClient,
  SipClient,
  WebhookReceiver,
  type VideoGrant,
  type WebhookEvent,
} from 'livekit-server-sdk';
import { startLiveKitSimulator } from '../../../dev/livekit-sim/index.js';
import type { LiveKitSimulatorOptions, RunningLiveKitSimulator } from '../../../dev/livekit-sim/index.js';
import type { RunningS3Server } from '../../../dev/s3-server.js';
import { S3RVER_CREDENTIALS, startS3Server } from '../../../dev/s3-server.js';

/** 100 simulated seconds pass in one real second. */
export const TIME_SCALE = 0.01;

export interface ReceivedWebhook {
  event: WebhookEvent;
  contentType: string | undefined;
  rawBody: string;
  /** The HTTP status the sink answered (200 unless `respond` said otherwise). */
  status: number;
}

/** How the sink answers an event: a status, or a status with response headers. */
export type SinkAnswer = number | { status: number; headers: Record<string, string> };

/** An HTTP endpoint like facesign's webhook route: raw body, verified with the SDK's WebhookReceiver. */
export class WebhookSink {
  /** Every verified POST, including those answered with an error (retries show up as repeats). */
  readonly received: ReceivedWebhook[] = [];
  readonly rejected: string[] = [];
  url = '';
  /**
   * How to answer a verified event: an HTTP status, or a promise of one to keep the request open (a
   * receiver that is stuck). Answers 200 unless a test replaces it.
   */
  respond: (event: WebhookEvent) => SinkAnswer | Promise<SinkAnswer> = () => 200;
  private waiters: { predicate: (events: readonly ReceivedWebhook[]) => boolean; resolve: () => void }[] = [];
  private readonly server: Server;

  private constructor(private readonly receiver: WebhookReceiver) {
    this.server = createServer((request, response) => {
      void this.handle(request, response);
    });
  }

  static async start(apiKey: string, apiSecret: string): Promise<WebhookSink> {
    const sink = new WebhookSink(new WebhookReceiver(apiKey, apiSecret));
    await new Promise<void>((resolve) => sink.server.listen(0, '127.0.0.1', resolve));
    const { port } = sink.server.address() as AddressInfo;
    sink.url = `http://127.0.0.1:${port}/livekit/webhook`;
    return sink;
  }

  /** Events the sink accepted (2xx), in the order they arrived. */
  events(filter: { room?: string; event?: string } = {}): WebhookEvent[] {
    return this.received
      .filter((entry) => entry.status < 300)
      .map((entry) => entry.event)
      .filter((event) => (filter.room === undefined || event.room?.name === filter.room) && (filter.event === undefined || event.event === filter.event));
  }

  names(room: string): string[] {
    return this.events({ room }).map((event) => event.event);
  }

  /** Waits until the received webhooks satisfy `predicate` (no time assertion: the test timeout bounds it). */
  until(predicate: (events: readonly ReceivedWebhook[]) => boolean): Promise<void> {
    if (predicate(this.received)) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ predicate, resolve }));
  }

  untilEvent(room: string, event: string, count = 1): Promise<void> {
    return this.until(() => this.events({ room, event }).length >= count);
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const rawBody = await readText(request);
    let event: WebhookEvent;
    try {
      event = await this.receiver.receive(rawBody, request.headers.authorization);
    } catch (error) {
      this.rejected.push(error instanceof Error ? error.message : String(error));
      response.statusCode = 401;
      response.end();
      return;
    }
    const answer = await this.respond(event);
    const { status, headers } = typeof answer === 'number' ? { status: answer, headers: {} } : answer;
    this.accept({ event, contentType: request.headers['content-type'], rawBody, status });
    response.writeHead(status, headers);
    response.end();
  }

  private accept(entry: ReceivedWebhook): void {
    this.received.push(entry);
    const pending = this.waiters;
    this.waiters = [];
    for (const waiter of pending) {
      if (waiter.predicate(this.received)) waiter.resolve();
      else this.waiters.push(waiter);
    }
  }
}

export interface SimulatorHarness {
  sim: RunningLiveKitSimulator;
  webhooks: WebhookSink;
  rooms: RoomServiceClient;
  egress: EgressClient;
  sip: SipClient;
  stop(): Promise<void>;
}

export async function startHarness(options: LiveKitSimulatorOptions = {}): Promise<SimulatorHarness> {
  const apiKey = options.apiKey ?? 'facesign-test-key';
  const apiSecret = options.apiSecret ?? 'facesign-test-secret-with-enough-entropy';
  const webhooks = await WebhookSink.start(apiKey, apiSecret);
  const sim = await startLiveKitSimulator({ timeScale: TIME_SCALE, webhookUrls: [webhooks.url], ...options, apiKey, apiSecret });
  return {
    sim,
    webhooks,
    rooms: new RoomServiceClient(sim.url, apiKey, apiSecret),
    egress: new EgressClient(sim.url, apiKey, apiSecret),
    sip: new SipClient(sim.url, apiKey, apiSecret),
    async stop() {
      await sim.stop();
      await webhooks.stop();
    },
  };
}

export async function joinToken(
  sim: Pick<RunningLiveKitSimulator, 'apiKey' | 'apiSecret'>,
  identity: string,
  grant: VideoGrant,
  extra: { name?: string; metadata?: string; attributes?: Record<string, string> } = {},
): Promise<string> {
  const token = new AccessToken(sim.apiKey, sim.apiSecret, { identity, ttl: '10m', ...extra });
  token.addGrant(grant);
  return token.toJwt();
}

/** A file output of a room-composite egress, uploaded to the test bucket with s3rver's credentials. */
export function fileOutput(s3: S3Harness, filepath: string, options: { fileType?: EncodedFileType; bucket?: string } = {}): { file: EncodedFileOutput } {
  return {
    file: new EncodedFileOutput({
      filepath,
      fileType: options.fileType ?? EncodedFileType.DEFAULT_FILETYPE,
      output: {
        case: 's3',
        value: new S3Upload({
          accessKey: S3RVER_CREDENTIALS.accessKeyId,
          secret: S3RVER_CREDENTIALS.secretAccessKey,
          region: 'us-east-1',
          endpoint: s3.server.endpoint,
          bucket: options.bucket ?? s3.bucket,
          forcePathStyle: true,
        }),
      },
    }),
  };
}

export interface S3Harness {
  server: RunningS3Server;
  client: S3Client;
  bucket: string;
  stop(): Promise<void>;
}

export async function startS3(bucket = 'recordings'): Promise<S3Harness> {
  const directory = await mkdtemp(join(tmpdir(), 'livekit-sim-s3-'));
  const server = await startS3Server({ directory, buckets: [bucket] });
  const client = new S3Client({
    region: 'us-east-1',
    endpoint: server.endpoint,
    forcePathStyle: true,
    credentials: S3RVER_CREDENTIALS,
  });
  return {
    server,
    client,
    bucket,
    async stop() {
      client.destroy();
      await server.stop();
      await rm(directory, { recursive: true, force: true });
    },
  };
}

/** Polls `probe` until it returns a value; the test timeout bounds the wait. */
export async function eventually<T>(probe: () => Promise<T | undefined> | T | undefined, intervalMs = 10): Promise<T> {
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** Runs `action` and returns what it threw (fails if it did not throw). */
export async function caught(action: () => Promise<unknown>): Promise<unknown> {
  try {
    await action();
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to fail, but it succeeded');
}

async function readText(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  return Buffer.concat(chunks).toString('utf8');
}
