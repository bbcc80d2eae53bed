// The face-match assist's engine: the face on the ID document against the live face. Detection and
// recognition run in a worker thread (face-matcher.worker.mjs), so the event loop that serves the
// API and the sockets never waits on the model. The verdict is a band, worked out here by a pure
// function; the agent decides, and the band only helps. The same worker also finds the 68 landmarks
// of the active-liveness check's two frames (landmarks(); judged in liveness-check.ts).
import { Worker } from 'node:worker_threads';
import type { FrameLandmarks } from './liveness-check.js';

export const FACE_MATCH_RESULTS = ['MATCH', 'UNCERTAIN', 'NO_MATCH', 'NO_FACE', 'MULTIPLE_FACES', 'UNREADABLE'] as const;
export type FaceMatchResult = (typeof FACE_MATCH_RESULTS)[number];

export interface FaceMatchThresholds {
  /** Similarity at or above this: MATCH. */
  matchAt: number;
  /** Similarity below this: NO_MATCH. In between: UNCERTAIN. */
  noMatchBelow: number;
}

export interface FaceBox {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** What the model saw in one image. */
export interface FaceSide {
  faceCount: number;
  /** Set when the bytes could not be decoded as an image. */
  unreadable?: string;
  confidence?: number;
  box?: FaceBox;
  /** A square JPEG crop around the face, when there is exactly one. */
  crop?: Uint8Array;
}

export interface FaceModel {
  name: string;
  version: string;
}

export interface FaceComparison {
  model: FaceModel;
  id: FaceSide;
  live: FaceSide;
  /** Euclidean distance between the two 128-d descriptors; null unless each image has exactly one face. */
  distance: number | null;
  /** CPU time the worker thread spent on this comparison. */
  cpuMicros: { user: number; system: number };
}

/** Similarity in [0, 1]: 1 − the descriptors' distance (same person is usually under 0.4 apart). */
export function similarityOf(distance: number): number {
  return Math.round(Math.min(1, Math.max(0, 1 - distance)) * 1000) / 1000;
}

/**
 * The band. A missing or extra face is never turned into a low score: it is its own result, and the
 * agent is told which image it was in.
 */
export function classify(comparison: Pick<FaceComparison, 'id' | 'live' | 'distance'>, thresholds: FaceMatchThresholds): { result: FaceMatchResult; score: number | null } {
  const sides = [comparison.id, comparison.live];
  if (sides.some((s) => s.unreadable !== undefined)) return { result: 'UNREADABLE', score: null };
  if (sides.some((s) => s.faceCount === 0)) return { result: 'NO_FACE', score: null };
  if (sides.some((s) => s.faceCount > 1)) return { result: 'MULTIPLE_FACES', score: null };
  if (comparison.distance === null) throw new Error('one face on each side, but no distance');
  const score = similarityOf(comparison.distance);
  if (score >= thresholds.matchAt) return { result: 'MATCH', score };
  if (score < thresholds.noMatchBelow) return { result: 'NO_MATCH', score };
  return { result: 'UNCERTAIN', score };
}

/** The liveness check's two frames as the model saw them (liveness-check.ts judges them). */
export interface LivenessObservation {
  model: FaceModel;
  before: FrameLandmarks;
  action: FrameLandmarks;
  /** CPU time the worker thread spent on both frames. */
  cpuMicros: { user: number; system: number };
}

type Request =
  | { type: 'load' }
  | { type: 'compare' | 'decode'; idImage: Uint8Array; liveImage: Uint8Array }
  | { type: 'landmarks'; beforeImage: Uint8Array; actionImage: Uint8Array };
type Reply = { requestId: number; ok: true; result: unknown } | { requestId: number; ok: false; error: string };

/**
 * One worker thread, started at the first request and kept (the models take a second to load).
 * Requests are answered in order. close() ends the thread; a later request starts a new one.
 */
export class FaceMatcher {
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, { worker: Worker; resolve(value: unknown): void; reject(error: Error): void }>();

  /** Loads the models (otherwise the first comparison does); resolves with the model's name and version. */
  async load(): Promise<FaceModel> {
    return ((await this.request({ type: 'load' })) as { model: FaceModel }).model;
  }

  async compare(idImage: Uint8Array, liveImage: Uint8Array): Promise<FaceComparison> {
    return (await this.request({ type: 'compare', idImage, liveImage })) as FaceComparison;
  }

  /** The liveness check's frames: face count and, for exactly one face, its 68 landmarks in each. */
  async landmarks(beforeImage: Uint8Array, actionImage: Uint8Array): Promise<LivenessObservation> {
    return (await this.request({ type: 'landmarks', beforeImage, actionImage })) as LivenessObservation;
  }

  /** Decoding alone (the benchmark's baseline); resolves with the worker's CPU time. */
  async decodeOnly(idImage: Uint8Array, liveImage: Uint8Array): Promise<{ cpuMicros: { user: number; system: number } }> {
    return (await this.request({ type: 'decode', idImage, liveImage })) as { cpuMicros: { user: number; system: number } };
  }

  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    if (worker) await worker.terminate();
  }

  private request(message: Request): Promise<unknown> {
    const worker = (this.worker ??= this.start());
    const requestId = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(requestId, { worker, resolve, reject });
      // Only a waiting request keeps the process alive; an idle matcher does not hold a shutdown.
      worker.ref();
      worker.postMessage({ ...message, requestId });
    });
  }

  private start(): Worker {
    const worker = new Worker(new URL('./face-matcher.worker.mjs', import.meta.url));
    worker.unref();
    worker.on('message', (reply: Reply) => {
      const waiting = this.pending.get(reply.requestId);
      if (!waiting) return;
      this.pending.delete(reply.requestId);
      if (![...this.pending.values()].some((p) => p.worker === worker)) worker.unref();
      if (reply.ok) waiting.resolve(reply.result);
      else waiting.reject(new Error(`face matcher: ${reply.error}`));
    });
    const failAll = (error: Error) => {
      if (this.worker === worker) this.worker = undefined;
      for (const [requestId, waiting] of this.pending) {
        if (waiting.worker !== worker) continue;
        this.pending.delete(requestId);
        waiting.reject(error);
      }
    };
    worker.on('error', (error) => failAll(error));
    worker.on('exit', (code) => failAll(new Error(`face matcher: the worker thread exited (${code})`)));
    return worker;
  }
}
