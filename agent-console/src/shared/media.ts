// Joining a LiveKit room from a page. With real LiveKit this is livekit-client (loaded only when
// needed). With the dev simulator there is no media server: the page presents the same access token
// to the simulator's control API, which admits the participant and publishes its tracks, so every
// webhook, state change and recording the server sees is what a real join would cause.

import type { components } from './api-schema';

/** What joining a room takes, from the agent's or the borrower's join grant. */
export type MediaGrant = Pick<components['schemas']['JoinGrant'], 'livekitUrl' | 'token' | 'room'>;

export type MediaMode = 'livekit' | 'simulated';

export interface MediaCallbacks {
  /** A remote participant's video or audio element, ready to be placed on the page. */
  onRemoteMedia?(element: HTMLMediaElement, kind: 'audio' | 'video'): void;
  /** That element's track is gone (the participant left or reloaded); it has been taken off the page. */
  onRemoteMediaEnded?(element: HTMLMediaElement, kind: 'audio' | 'video'): void;
  onDisconnected?(): void;
  onReconnecting?(): void;
  onReconnected?(): void;
}

export interface MediaConnection {
  mode: MediaMode;
  identity: string;
  leave(): Promise<void>;
}

function httpBase(url: string): string {
  return url.replace(/^ws(s?):/, 'http$1:').replace(/\/$/, '');
}

async function simulatorCall(base: string, path: string, body: unknown): Promise<unknown> {
  const response = await fetch(`${base}/_sim/${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  if (!response.ok) throw new Error(`LiveKit simulator refused ${path}: ${response.status} ${await response.text()}`);
  return response.status === 204 ? undefined : response.json();
}

export async function joinMedia(grant: MediaGrant, mode: MediaMode, publish: { audio: boolean; video: boolean }, callbacks: MediaCallbacks = {}): Promise<MediaConnection> {
  if (mode === 'simulated') {
    const base = httpBase(grant.livekitUrl);
    const participant = (await simulatorCall(base, 'participants/join', { token: grant.token, room: grant.room })) as { identity: string };
    const identity = participant.identity;
    if (publish.audio) await simulatorCall(base, 'tracks/publish', { room: grant.room, identity, kind: 'audio', source: 'microphone' });
    if (publish.video) await simulatorCall(base, 'tracks/publish', { room: grant.room, identity, kind: 'video', source: 'camera' });
    let left = false;
    return {
      mode,
      identity,
      leave: async () => {
        if (left) return;
        left = true;
        await simulatorCall(base, 'participants/leave', { room: grant.room, identity }).catch(() => undefined);
      },
    };
  }

  const { Room, RoomEvent, Track } = await import('livekit-client');
  const room = new Room({ adaptiveStream: true, dynacast: true });
  // Each remote track's element, so it can leave the page with its track. livekit-client only empties
  // the element; left in place, a participant who reloads would leave a dead black tile behind.
  const elements = new Map<object, { element: HTMLMediaElement; kind: 'audio' | 'video' }>();
  room.on(RoomEvent.TrackSubscribed, (track) => {
    if (track.kind === Track.Kind.Video || track.kind === Track.Kind.Audio) {
      const kind = track.kind === Track.Kind.Video ? 'video' : 'audio';
      const element = track.attach();
      elements.set(track, { element, kind });
      callbacks.onRemoteMedia?.(element, kind);
    }
  });
  room.on(RoomEvent.TrackUnsubscribed, (track) => {
    const attached = elements.get(track);
    if (!attached) return;
    elements.delete(track);
    track.detach(attached.element);
    attached.element.remove();
    callbacks.onRemoteMediaEnded?.(attached.element, attached.kind);
  });
  room.on(RoomEvent.Reconnecting, () => callbacks.onReconnecting?.());
  room.on(RoomEvent.Reconnected, () => callbacks.onReconnected?.());
  room.on(RoomEvent.Disconnected, () => callbacks.onDisconnected?.());
  await room.connect(grant.livekitUrl, grant.token);
  if (publish.audio) await room.localParticipant.setMicrophoneEnabled(true);
  if (publish.video) await room.localParticipant.setCameraEnabled(true);
  return { mode, identity: room.localParticipant.identity, leave: () => room.disconnect() };
}

/** Asks for the camera and/or microphone; the error names what went wrong in words a person can act on. */
export type DeviceProblem = 'denied' | 'not-found' | 'in-use' | 'insecure' | 'unknown';

export function deviceProblem(error: unknown): DeviceProblem {
  const name = (error as { name?: string } | null)?.name ?? '';
  if (name === 'NotAllowedError' || name === 'SecurityError') return 'denied';
  if (name === 'NotFoundError' || name === 'OverconstrainedError') return 'not-found';
  if (name === 'NotReadableError' || name === 'AbortError') return 'in-use';
  if (typeof navigator !== 'undefined' && !navigator.mediaDevices) return 'insecure';
  return 'unknown';
}

export async function requestDevices(constraints: { audio: boolean; video: boolean }): Promise<MediaStream> {
  if (!navigator.mediaDevices?.getUserMedia) throw Object.assign(new Error('media devices unavailable'), { name: 'SecurityError' });
  return navigator.mediaDevices.getUserMedia({ audio: constraints.audio, video: constraints.video ? { width: 1280, height: 720 } : false });
}
