// Active liveness, the pure part: which movement a liveness prompt asks for, what the 68 face
// landmarks of one frame say about head pose, eyes and mouth, and whether the movement happened
// between the frame before the action and the frame taken during it. No I/O: the landmarks come from
// the face model's worker thread (face-matcher.worker.mjs). The result is an assist; the agent decides.
//
// Landmark indices (the iBUG 300-W 68-point layout face-api uses), as seen in the image:
//   0–16 jaw line from the image's left to its right, 8 the chin; 30 the nose tip;
//   36–41 and 42–47 the eyes (corner, two upper lids, corner, two lower lids);
//   60–67 the inner lip contour (60 and 64 the mouth corners).

export const LIVENESS_MOVEMENTS = ['TURN_LEFT', 'TURN_RIGHT', 'TURN_EITHER', 'NOD', 'BLINK', 'OPEN_MOUTH'] as const;
export type LivenessMovement = (typeof LIVENESS_MOVEMENTS)[number];

export const LIVENESS_RESULTS = ['PASSED', 'NOT_OBSERVED', 'NO_FACE', 'MULTIPLE_FACES', 'NOT_CHECKABLE', 'UNREADABLE'] as const;
export type LivenessResult = (typeof LIVENESS_RESULTS)[number];

/**
 * The movements of the default templates' liveness pools, by prompt id. A template may also name the
 * movement on the prompt itself (`check`). Prompts not here (read digits aloud, say the date, raise a
 * hand) are beyond face landmarks: NOT_CHECKABLE.
 */
const DEFAULT_MOVEMENTS: Readonly<Record<string, LivenessMovement>> = {
  liveness_turn_left: 'TURN_LEFT',
  liveness_turn_right: 'TURN_RIGHT',
  liveness_nod: 'NOD',
  liveness_blink: 'BLINK',
  liveness_open_mouth: 'OPEN_MOUTH',
};

export function movementOf(prompt: { id: string; check?: LivenessMovement | undefined } | undefined): LivenessMovement | null {
  if (!prompt) return null;
  return prompt.check ?? DEFAULT_MOVEMENTS[prompt.id] ?? null;
}

export interface Point {
  x: number;
  y: number;
}

/** What one frame showed: how many faces, and for exactly one, its 68 landmarks (image pixels). */
export interface FrameLandmarks {
  faceCount: number;
  /** Set when the bytes could not be decoded as an image. */
  unreadable?: string;
  landmarks?: Point[];
}

/** Figures of one face. */
export interface FaceMeasures {
  /**
   * Estimated head yaw in degrees: positive when the person has turned to their own left (the face
   * points to the image's right in an unmirrored camera picture), negative to their right. It is the
   * nose tip's place between the two sides of the jaw, as an angle on a round head: a rough estimate.
   */
  yawDeg: number;
  /** The nose tip's height between the eye line (0) and the chin (1); nodding moves it. */
  pitch: number;
  /** Eye aspect ratio, the mean of both eyes: about 0.25–0.35 open, under 0.2 closed. */
  ear: number;
  /** Mouth opening: inner lip height over mouth width; near 0 closed. */
  mouth: number;
}

export interface LivenessThresholds {
  /** TURN_*: the yaw must change by at least this many degrees (in the prompted direction). */
  yawChangeDeg: number;
  /** NOD: the pitch ratio must change by at least this much. */
  pitchChange: number;
  /** BLINK: one frame's EAR below this (closed) … */
  eyesClosedBelow: number;
  /** … and the other's at or above this (open). */
  eyesOpenAt: number;
  /** OPEN_MOUTH: one frame's mouth ratio at or above this (open) … */
  mouthOpenAt: number;
  /** … and the other's below this (closed). */
  mouthClosedBelow: number;
}

const sub = (a: Point, b: Point): Point => ({ x: a.x - b.x, y: a.y - b.y });
const dot = (a: Point, b: Point) => a.x * b.x + a.y * b.y;
const dist = (a: Point, b: Point) => Math.hypot(a.x - b.x, a.y - b.y);
const mid = (a: Point, b: Point): Point => ({ x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 });
const round = (value: number, places: number) => Math.round(value * 10 ** places) / 10 ** places;

function at(points: readonly Point[], index: number): Point {
  const p = points[index];
  if (!p) throw new Error(`landmark ${index} is missing (68 expected, ${points.length} given)`);
  return p;
}

/** Eye aspect ratio of the eye whose six points start at `first`. */
function eyeAspect(p: readonly Point[], first: number): number {
  const [c1, u1, u2, c2, l2, l1] = [0, 1, 2, 3, 4, 5].map((i) => at(p, first + i)) as [Point, Point, Point, Point, Point, Point];
  const width = dist(c1, c2);
  return width === 0 ? 0 : (dist(u1, l1) + dist(u2, l2)) / (2 * width);
}

/**
 * The figures of one face from its 68 landmarks. Measured along the face's own axes (the line through
 * the jaw's two ends, and its perpendicular), so a tilted head (roll) does not read as a turn.
 */
export function measureFace(points: readonly Point[]): FaceMeasures {
  if (points.length !== 68) throw new Error(`68 landmarks expected, ${points.length} given`);
  const jawLeft = at(points, 0);
  const jawRight = at(points, 16);
  const nose = at(points, 30);
  const across = sub(jawRight, jawLeft);
  const width = Math.hypot(across.x, across.y);
  if (width === 0) throw new Error('degenerate landmarks: the jaw has no width');
  const u = { x: across.x / width, y: across.y / width };
  const down = { x: -u.y, y: u.x };

  const toLeftSide = dot(sub(nose, jawLeft), u);
  const toRightSide = dot(sub(jawRight, nose), u);
  const offset = Math.max(-1, Math.min(1, (toLeftSide - toRightSide) / (toLeftSide + toRightSide)));

  const eyeLine = mid(at(points, 39), at(points, 42));
  const chinDepth = dot(sub(at(points, 8), eyeLine), down);
  const pitch = chinDepth === 0 ? 0 : dot(sub(nose, eyeLine), down) / chinDepth;

  const mouthWidth = dist(at(points, 60), at(points, 64));
  const mouthHeight = (dist(at(points, 61), at(points, 67)) + dist(at(points, 62), at(points, 66)) + dist(at(points, 63), at(points, 65))) / 3;

  return {
    yawDeg: round((Math.asin(offset) * 180) / Math.PI, 1),
    pitch: round(pitch, 3),
    ear: round((eyeAspect(points, 36) + eyeAspect(points, 42)) / 2, 3),
    mouth: round(mouthWidth === 0 ? 0 : mouthHeight / mouthWidth, 3),
  };
}

export interface LivenessVerdict {
  result: LivenessResult;
  before: FaceMeasures | null;
  action: FaceMeasures | null;
}

/** One frame open (≥ openAt) and the other closed (< closedBelow), in either order. */
const openAndClosed = (a: number, b: number, closedBelow: number, openAt: number) => (a < closedBelow && b >= openAt) || (b < closedBelow && a >= openAt);

/** Did the movement happen between the two frames? */
export function movementObserved(movement: LivenessMovement, before: FaceMeasures, action: FaceMeasures, t: LivenessThresholds): boolean {
  const turn = action.yawDeg - before.yawDeg;
  switch (movement) {
    case 'TURN_LEFT':
      return turn >= t.yawChangeDeg;
    case 'TURN_RIGHT':
      return -turn >= t.yawChangeDeg;
    case 'TURN_EITHER':
      return Math.abs(turn) >= t.yawChangeDeg;
    case 'NOD':
      return Math.abs(action.pitch - before.pitch) >= t.pitchChange;
    case 'BLINK':
      return openAndClosed(before.ear, action.ear, t.eyesClosedBelow, t.eyesOpenAt);
    case 'OPEN_MOUTH':
      return openAndClosed(before.mouth, action.mouth, t.mouthClosedBelow, t.mouthOpenAt);
    default:
      return assertNever(movement);
  }
}

/**
 * The verdict over both frames. An unreadable image, a missing face or an extra face is its own
 * result, never "not observed"; a prompt landmarks cannot check is NOT_CHECKABLE, with the figures
 * still measured when there is one face in each frame.
 */
export function judgeLiveness(movement: LivenessMovement | null, before: FrameLandmarks, action: FrameLandmarks, thresholds: LivenessThresholds): LivenessVerdict {
  const frames = [before, action];
  const measures = (f: FrameLandmarks) => (f.faceCount === 1 && f.landmarks ? measureFace(f.landmarks) : null);
  const figures = { before: measures(before), action: measures(action) };
  if (frames.some((f) => f.unreadable !== undefined)) return { result: 'UNREADABLE', ...figures };
  if (frames.some((f) => f.faceCount === 0)) return { result: 'NO_FACE', ...figures };
  if (frames.some((f) => f.faceCount > 1)) return { result: 'MULTIPLE_FACES', ...figures };
  if (!figures.before || !figures.action) throw new Error('one face in each frame, but no landmarks');
  if (!movement) return { result: 'NOT_CHECKABLE', ...figures };
  return { result: movementObserved(movement, figures.before, figures.action, thresholds) ? 'PASSED' : 'NOT_OBSERVED', ...figures };
}

function assertNever(value: never): never {
  throw new Error(`unexpected movement ${String(value)}`);
}
