// Both sides of video face-signing sessions in one process of their own (so that their work is not
// counted as facesign's or LiveKit's), driven by bench/support/rtc-clients.ts over IPC:
// - an SMS gateway stand-in (facesign's NOTIFIER=http posts here) from which the borrowers read their
//   links and one-time codes;
// - agents at their desks over socket.io (available, heartbeats) who accept every offer over HTTP and
//   join with the token the acceptance returns;
// - borrowers who go through the join page's API (link, one-time code, consent, ready) from an
//   address each, and join with the token `ready` returns;
// - each participant joins LiveKit through @livekit/rtc-node, publishes one synthetic camera track
//   (I420, a texture scrolling by a row a frame) and one microphone track (a 400 Hz tone), and
//   subscribes to the other side. Media counts as flowing once each side has decoded a video frame and
//   received an audio frame of the other's.
// All times are wall-clock milliseconds (performance.timeOrigin + now), comparable across processes.
import {
  AudioFrame,
  AudioSource,
  AudioStream,
  LocalAudioTrack,
  LocalVideoTrack,
  Room,
  RoomEvent,
  TrackKind,
  TrackPublishOptions,
  TrackSource,
  VideoBufferType,
  VideoFrame,
  VideoSource,
  VideoStream,
  type RemoteTrack,
} from '@livekit/rtc-node';
import { io, type Socket } from 'socket.io-client';
import { HttpSink, type Received } from '../../test/support/http-sink.js';
import { keepAtDesk } from './agent-desk.js';

export interface MediaSettings {
  width: number;
  height: number;
  fps: number;
  /** The camera track's encoder ceiling, bits per second. */
  maxBitrate: number;
}

/** One side's media, as the receiving side's WebRTC stats count it. */
export interface ReceivedMedia {
  videoBytes: number;
  videoFramesDecoded: number;
  audioBytes: number;
  audioPackets: number;
}

export interface SessionTimes {
  sessionId: string;
  /** The LOS API call creating the session started / returned. */
  requested: number;
  created: number;
  /** The borrower's `ready` returned the LiveKit token; both sides connected to LiveKit; media flowing both ways. */
  borrowerToken: number;
  agentToken: number;
  joined: number;
  flowing: number;
  /** Wrap-up: the party's signing confirmed; the checklist submitted (request sent, answered); both sides disconnected by LiveKit. */
  signed?: number;
  submitted?: number;
  completed?: number;
  disconnected?: number;
}

export type ParentMessage =
  | { type: 'agents'; url: string; agents: { cookie: string; csrfToken: string }[] }
  | { type: 'sessions'; url: string; losKey: string; count: number; product: string; contractHash: string; media: MediaSettings; loanTerms: unknown }
  | { type: 'pairs'; wsUrl: string; pairs: { a: string; b: string }[]; media: MediaSettings }
  | { type: 'received' }
  | { type: 'wrap-up'; url: string }
  | { type: 'leave' }
  | { type: 'close' };

const now = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

// ---- the SMS gateway stand-in ----
interface Sms {
  to: string;
  template: string;
  text: string;
}
const sms = await HttpSink.start();

/** The first text of `template` to `to` (within `timeoutMs`). */
async function textTo(to: string, template: string, timeoutMs = 60_000): Promise<Sms> {
  const isIt = (r: Received) => {
    const text = JSON.parse(r.body) as Sms;
    return text.to === to && text.template === template;
  };
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no "${template}" text to ${to} within ${timeoutMs / 1000} s`)), timeoutMs)));
  try {
    return JSON.parse((await Promise.race([sms.until(isIt), timeout])).body) as Sms;
  } finally {
    clearTimeout(timer);
  }
}

// ---- media ----
const rooms: Room[] = [];
const videoSources: VideoSource[] = [];
const audioSources: AudioSource[] = [];
let videoTimer: NodeJS.Timeout | undefined;
let audioTimer: NodeJS.Timeout | undefined;
let frameNumber = 0;
const AUDIO_RATE = 48_000;
/** A session whose media has not arrived by then, once both sides joined, counts as failed. */
const FLOWING_TIMEOUT_MS = 90_000;
const AUDIO_FRAME_SAMPLES = 960; // 20 ms
const tone = new Int16Array(AUDIO_FRAME_SAMPLES);
for (let i = 0; i < tone.length; i += 1) tone[i] = Math.round(3000 * Math.sin((2 * Math.PI * 400 * i) / AUDIO_RATE)); // 8 whole cycles

let texture: Uint8Array | undefined;
let noise: Uint8Array | undefined;
let frameBuffer: Uint8Array | undefined;
/**
 * A camera-like picture: 16×16 blocks of random luminance and colour scrolling down a row a frame (motion
 * the encoder can follow), and a band of a 48th of the picture's rows that is new every frame (detail
 * it has to spend bits on).
 */
function frameAt(media: MediaSettings, n: number): VideoFrame {
  const { width, height } = media;
  const size = (width * height * 3) / 2;
  if (!texture || !noise || !frameBuffer || frameBuffer.length !== size) {
    texture = new Uint8Array(size * 2);
    const rows = (texture.length / width) | 0;
    for (let y = 0; y < rows; y += 1) {
      for (let x = 0; x < width; x += 16) {
        const block = ((y >> 4) * 7919 + (x >> 4) * 104_729) % 1009;
        texture.fill(16 + ((block * 37) % 220), y * width + x, y * width + x + 16);
      }
    }
    noise = new Uint8Array(width * height);
    for (let i = 0; i < noise.length; i += 1) noise[i] = 16 + Math.floor(Math.random() * 220);
    frameBuffer = new Uint8Array(size);
  }
  // A buffer of its own (rtc-node passes the whole ArrayBuffer, not a view's offset); captureFrame
  // copies it before returning, so one buffer serves every source.
  const offset = (n * width) % size;
  frameBuffer.set(texture.subarray(offset, offset + size));
  const band = ((height / 48) | 0) * width;
  const at = ((n * 13) % (height - band / width)) * width;
  const from = (n * 7919) % (noise.length - band);
  frameBuffer.set(noise.subarray(from, from + band), at);
  return new VideoFrame(frameBuffer, width, height, VideoBufferType.I420);
}

function startClocks(media: MediaSettings): void {
  videoTimer ??= setInterval(() => {
    frameNumber += 1;
    const frame = frameAt(media, frameNumber);
    for (const source of videoSources) if (!source.closed) source.captureFrame(frame);
  }, 1000 / media.fps);
  audioTimer ??= setInterval(() => {
    const frame = new AudioFrame(tone, AUDIO_RATE, 1, AUDIO_FRAME_SAMPLES);
    for (const source of audioSources) void source.captureFrame(frame).catch(() => undefined);
  }, 20);
}

function stopClocks(): void {
  clearInterval(videoTimer);
  clearInterval(audioTimer);
  videoTimer = undefined;
  audioTimer = undefined;
}

/** Joins, publishes camera and microphone, and resolves `flowing` once a video frame and an audio frame of the other side arrived. */
async function join(wsUrl: string, token: string, media: MediaSettings): Promise<{ room: Room; joined: number; flowing: Promise<number>; gone: Promise<number>; has: () => string }> {
  const room = new Room();
  let videoIn = false;
  let audioIn = false;
  let markFlowing: (at: number) => void = () => undefined;
  const flowing = new Promise<number>((resolve) => (markFlowing = resolve));
  const check = () => {
    if (videoIn && audioIn) markFlowing(now());
  };
  room.on(RoomEvent.TrackSubscribed, (track: RemoteTrack) => {
    if (track.kind === TrackKind.KIND_VIDEO) {
      void (async () => {
        for await (const _frame of new VideoStream(track)) break;
        videoIn = true;
        check();
      })().catch(() => undefined);
    } else if (track.kind === TrackKind.KIND_AUDIO) {
      void (async () => {
        for await (const _frame of new AudioStream(track, AUDIO_RATE, 1)) break;
        audioIn = true;
        check();
      })().catch(() => undefined);
    }
  });
  const gone = new Promise<number>((resolve) => room.once(RoomEvent.Disconnected, () => resolve(now())));
  await room.connect(wsUrl, token, { autoSubscribe: true, dynacast: false });
  const joined = now();
  rooms.push(room);
  const video = new VideoSource(media.width, media.height);
  const audio = new AudioSource(AUDIO_RATE, 1);
  videoSources.push(video);
  audioSources.push(audio);
  startClocks(media);
  await room.localParticipant!.publishTrack(
    LocalVideoTrack.createVideoTrack('camera', video),
    new TrackPublishOptions({ source: TrackSource.SOURCE_CAMERA, simulcast: false, videoEncoding: { maxBitrate: BigInt(media.maxBitrate), maxFramerate: media.fps } }),
  );
  await room.localParticipant!.publishTrack(LocalAudioTrack.createAudioTrack('microphone', audio), new TrackPublishOptions({ source: TrackSource.SOURCE_MICROPHONE, dtx: false }));
  return { room, joined, flowing, gone, has: () => `video frame decoded: ${videoIn}, audio received: ${audioIn}` };
}

/** Media flowing both ways, within FLOWING_TIMEOUT_MS of both sides having joined. */
async function bothFlowing(a: Awaited<ReturnType<typeof join>>, b: Awaited<ReturnType<typeof join>>, what: string): Promise<number> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: media not flowing both ways ${FLOWING_TIMEOUT_MS / 1000} s after both joined (one side: ${a.has()}; the other: ${b.has()})`)), FLOWING_TIMEOUT_MS);
  });
  try {
    return Math.max(...(await Promise.race([Promise.all([a.flowing, b.flowing]), timeout])));
  } finally {
    clearTimeout(timer);
  }
}

async function received(): Promise<ReceivedMedia> {
  const total: ReceivedMedia = { videoBytes: 0, videoFramesDecoded: 0, audioBytes: 0, audioPackets: 0 };
  for (const room of rooms) {
    if (!room.isConnected) continue;
    const stats = await room.getRtcStats().catch(() => undefined);
    // rtc-node may carry both directions on one peer connection: its inbound streams are then under publisherStats.
    for (const s of [...(stats?.subscriberStats ?? []), ...(stats?.publisherStats ?? [])]) {
      if (s.stats.case !== 'inboundRtp') continue;
      const v = s.stats.value;
      if (v.stream?.kind === 'video') {
        total.videoBytes += Number(v.inbound?.bytesReceived ?? 0n);
        total.videoFramesDecoded += v.inbound?.framesDecoded ?? 0;
      } else if (v.stream?.kind === 'audio') {
        total.audioBytes += Number(v.inbound?.bytesReceived ?? 0n);
        total.audioPackets += Number(v.received?.packetsReceived ?? 0n);
      }
    }
  }
  return total;
}

async function leaveAll(): Promise<void> {
  stopClocks();
  await Promise.all(rooms.splice(0).map((room) => (room.isConnected ? room.disconnect() : undefined)));
  await Promise.all(videoSources.splice(0).map((s) => s.close()));
  await Promise.all(audioSources.splice(0).map((s) => s.close()));
}

// ---- agents ----
interface Agent {
  cookie: string;
  csrfToken: string;
  socket: Socket;
}
const agents: Agent[] = [];
const heartbeats: NodeJS.Timeout[] = [];
/** The accepted offers' grants by session: which agent, and the token. */
const grants = new Map<string, { agent: Agent; token: string; livekitUrl: string; at: number }>();
const grantWaiters = new Map<string, () => void>();
const offerFailures: string[] = [];

async function http<T>(url: string, init: { method?: string; headers?: Record<string, string>; body?: unknown }, expected: number): Promise<T> {
  const res = await fetch(url, {
    method: init.method ?? 'GET',
    headers: { ...(init.body === undefined ? {} : { 'content-type': 'application/json' }), ...init.headers },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
  const text = await res.text();
  if (res.status !== expected) throw new Error(`${init.method ?? 'GET'} ${new URL(url).pathname}: ${res.status} ${text.slice(0, 300)}`);
  return (text ? JSON.parse(text) : undefined) as T;
}
const asAgent = (agent: Agent) => ({ cookie: agent.cookie, 'x-csrf-token': agent.csrfToken });

async function connectAgents(url: string, list: { cookie: string; csrfToken: string }[]): Promise<number> {
  await Promise.all(
    list.map(
      (credentials) =>
        new Promise<void>((resolve, reject) => {
          const socket = io(`${url}/agent`, { transports: ['websocket'], reconnection: false, forceNew: true, extraHeaders: { cookie: credentials.cookie } });
          const agent: Agent = { ...credentials, socket };
          agents.push(agent);
          const onAccepted = async (res: Response) => {
            const text = await res.text();
            if (res.status !== 200) {
              offerFailures.push(`POST /api/offers/…/accept: ${res.status} ${text.slice(0, 300)}`);
              return;
            }
            const grant = JSON.parse(text) as { token: string; livekitUrl: string; sessionId: string };
            grants.set(grant.sessionId, { agent, token: grant.token, livekitUrl: grant.livekitUrl, at: now() });
            grantWaiters.get(grant.sessionId)?.();
          };
          keepAtDesk(socket, url, credentials, heartbeats, onAccepted, (error) => offerFailures.push(error.message)).then(resolve, reject);
          socket.once('connect_error', reject);
        }),
    ),
  );
  return agents.filter((a) => a.socket.connected).length;
}

function grantFor(sessionId: string, timeoutMs = 120_000): Promise<NonNullable<ReturnType<typeof grants.get>>> {
  const existing = grants.get(sessionId);
  if (existing) return Promise.resolve(existing);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no agent accepted session ${sessionId} within ${timeoutMs / 1000} s${offerFailures[0] ? ` (an acceptance failed: ${offerFailures[0]})` : ''}`)), timeoutMs);
    grantWaiters.set(sessionId, () => {
      clearTimeout(timer);
      resolve(grants.get(sessionId)!);
    });
  });
}

// ---- sessions ----
interface Live {
  times: SessionTimes;
  phone: string;
  link: string;
  partyToken: string;
  address: string;
  agent: Agent;
  gone: Promise<number>[];
}
const live: Live[] = [];

let sessionNumber = 0;

async function runSession(input: Extract<ParentMessage, { type: 'sessions' }>): Promise<SessionTimes> {
  // Numbered across calls (a warm-up, then the measured sessions): each borrower has a phone and an address of their own.
  const i = sessionNumber++;
  const { url } = input;
  const los = { authorization: `Bearer ${input.losKey}` };
  const phone = `+86139${String(10_000_000 + i).slice(-8)}`;
  const address = `198.51.${100 + Math.floor(i / 250)}.${(i % 250) + 1}`;
  const requested = now();
  const loanFile = await http<{ id: string; parties: { id: string }[] }>(
    `${url}/api/loan-files`,
    {
      method: 'POST',
      headers: los,
      body: {
        externalRef: `BENCH-V-${i}-${Date.now().toString(36)}`,
        product: input.product,
        amount: '80000.00',
        currency: 'CNY',
        terms: input.loanTerms,
        parties: [{ role: 'BORROWER', fullName: '赵敏', phoneE164: phone, timeZone: 'Asia/Shanghai', locale: 'zh-CN' }],
      },
    },
    201,
  );
  const session = await http<{ id: string }>(
    `${url}/api/loan-files/${loanFile.id}/sessions`,
    { method: 'POST', headers: los, body: { partyId: loanFile.parties[0]!.id, kind: 'VIDEO', notBefore: new Date().toISOString(), contractDocumentHash: input.contractHash } },
    201,
  );
  const created = now();
  // The borrower: the link from the invitation, the one-time code, consent, the waiting room.
  const invitation = await textTo(phone, 'invitation');
  const link = /\/join\/([A-Za-z0-9_-]{43})/.exec(invitation.text)?.[1];
  if (!link) throw new Error(`no link in the invitation: ${invitation.text}`);
  const from = { 'x-forwarded-for': address };
  await http(`${url}/api/join/${link}`, { headers: from }, 200);
  await http(`${url}/api/join/${link}/otp`, { method: 'POST', headers: from, body: { purpose: 'join' } }, 202);
  const code = /(\d{6})/.exec((await textTo(phone, 'otp')).text)?.[1];
  const { partyToken } = await http<{ partyToken: string }>(`${url}/api/join/${link}/otp/verify`, { method: 'POST', headers: from, body: { code } }, 200);
  const asParty = { ...from, 'x-party-token': partyToken };
  await http(`${url}/api/join/${link}/consent`, { method: 'POST', headers: asParty, body: { recording: true, dataProcessing: true, locale: 'zh-CN' } }, 204);
  const ready = await http<{ token: string; livekitUrl: string }>(`${url}/api/join/${link}/ready`, { method: 'POST', headers: asParty }, 200);
  const borrowerToken = now();
  const borrower = await join(ready.livekitUrl, ready.token, input.media);
  // The agent: offered the waiting session, accepted, joins with the grant's token.
  const grant = await grantFor(session.id);
  const agent = await join(grant.livekitUrl, grant.token, input.media);
  const flowing = await bothFlowing(borrower, agent, `session ${session.id} (borrower's token after ${Math.round(borrowerToken - created)} ms, agent's after ${Math.round(grant.at - created)} ms)`);
  const times: SessionTimes = { sessionId: session.id, requested, created, borrowerToken, agentToken: grant.at, joined: Math.max(borrower.joined, agent.joined), flowing };
  live.push({ times, phone, link, partyToken, address, agent: grant.agent, gone: [borrower.gone, agent.gone] });
  return times;
}

/** Wrap-up as the desk and the join page do it: the party signs with a fresh code, the agent answers every required item and submits. */
async function wrapUp(url: string, s: Live): Promise<void> {
  const asParty = { 'x-forwarded-for': s.address, 'x-party-token': s.partyToken };
  await http(`${url}/api/join/${s.link}/otp`, { method: 'POST', headers: asParty, body: { purpose: 'sign' } }, 202);
  const code = /(\d{6})/.exec((await textTo(s.phone, 'signing_code')).text)?.[1];
  await http(`${url}/api/join/${s.link}/sign`, { method: 'POST', headers: asParty, body: { code } }, 201);
  s.times.signed = now();
  const sessionId = s.times.sessionId;
  const checklist = await http<{ items: { id: string; required: boolean }[] }>(`${url}/api/sessions/${sessionId}/checklist`, { headers: asAgent(s.agent) }, 200);
  for (const item of checklist.items.filter((it) => it.required)) {
    await http(`${url}/api/sessions/${sessionId}/answers/${item.id}`, { method: 'PUT', headers: asAgent(s.agent), body: { value: 'CONFIRMED' } }, 200);
  }
  s.times.submitted = now();
  await http(`${url}/api/sessions/${sessionId}/complete`, { method: 'POST', headers: asAgent(s.agent) }, 200);
  s.times.completed = now();
  const timeout = sleep(60_000).then(() => Number.NaN);
  const gone = await Promise.all(s.gone.map((g) => Promise.race([g, timeout])));
  s.times.disconnected = Math.max(...gone);
}

async function settle<T>(work: Promise<T>[]): Promise<{ values: T[]; failures: string[] }> {
  const results = await Promise.allSettled(work);
  return { values: results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : [])), failures: results.flatMap((r) => (r.status === 'rejected' ? [(r.reason as Error).message] : [])) };
}

process.on('message', (message: ParentMessage) => {
  const reply = (work: Promise<Record<string, unknown>>, type: string) =>
    work.then(
      (body) => process.send?.({ type, ...body }),
      (error: Error) => process.send?.({ type: 'error', message: error.stack ?? error.message }),
    );
  switch (message.type) {
    case 'agents':
      void reply(connectAgents(message.url, message.agents).then((connected) => ({ connected })), 'agents-ready');
      break;
    case 'sessions':
      void reply(
        settle(Array.from({ length: message.count }, () => runSession(message))).then((r) => ({ failures: r.failures, sessions: r.values, offerFailures })),
        'up',
      );
      break;
    case 'pairs':
      void reply(
        settle(
          message.pairs.map(async (pair) => {
            const started = now();
            const [a, b] = await Promise.all([join(message.wsUrl, pair.a, message.media), join(message.wsUrl, pair.b, message.media)]);
            return { started, joined: Math.max(a.joined, b.joined), flowing: await bothFlowing(a, b, 'baseline pair') };
          }),
        ).then((r) => ({ pairs: r.values, failures: r.failures })),
        'up',
      );
      break;
    case 'received':
      void reply(received().then((media) => ({ media })), 'received');
      break;
    case 'wrap-up':
      {
        // The sessions up now; they are done with after this.
        const ending = live.splice(0);
        void reply(settle(ending.map((s) => wrapUp(message.url, s))).then((r) => ({ failures: r.failures, sessions: ending.map((s) => s.times) })), 'wrapped-up');
      }
      break;
    case 'leave':
      void reply(leaveAll().then(() => ({})), 'left');
      break;
    case 'close':
      for (const h of heartbeats) clearInterval(h);
      for (const a of agents) a.socket.close();
      void leaveAll().finally(() => process.exit(0));
      break;
  }
});

process.send?.({ type: 'ready', smsUrl: `${sms.url}/sms` });
