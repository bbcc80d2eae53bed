// Active liveness: the landmark figures and the verdict on synthetic 68-point faces (pure), then the
// real model (face-api on TensorFlow.js WebAssembly, in its worker thread) on the package's sample
// photographs: a head turn, identical frames, a group photograph and a blank image.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FaceMatcher } from '../../recordings/face-matcher.js';
import { judgeLiveness, measureFace, movementOf, type FaceMeasures, type FrameLandmarks, type LivenessMovement, type LivenessThresholds, type Point } from '../../recordings/liveness-check.js';
import { blankPng, liveFace, POSES, samplePhoto } from '../support/face-samples.js';

const thresholds: LivenessThresholds = { yawChangeDeg: 20, pitchChange: 0.08, eyesClosedBelow: 0.18, eyesOpenAt: 0.24, mouthOpenAt: 0.35, mouthClosedBelow: 0.15 };

/**
 * A synthetic face in the 68-point layout, 200 px wide, upright. `noseShift` moves the nose tip
 * across (in face widths, + to the image's right), `noseDrop` down (towards the chin, in face
 * heights), `eyeOpen` is each eye's aspect ratio, `mouthOpen` the inner lips' height over width.
 * `roll` turns the whole face in the image plane (radians).
 */
function face({ noseShift = 0, noseDrop = 0, eyeOpen = 0.3, mouthOpen = 0.02, roll = 0 } = {}): Point[] {
  const p: Point[] = Array.from({ length: 68 }, () => ({ x: 0, y: 0 }));
  for (let i = 0; i <= 16; i++) {
    const a = Math.PI * (i / 16);
    p[i] = { x: -100 * Math.cos(a), y: 20 + 100 * Math.sin(a) };
  }
  p[8] = { x: 0, y: 120 };
  for (let i = 17; i <= 26; i++) p[i] = { x: -80 + (i - 17) * 18, y: -40 };
  for (let i = 27; i <= 29; i++) p[i] = { x: 0, y: -20 + (i - 27) * 12 };
  p[30] = { x: 200 * noseShift, y: 20 + 120 * noseDrop };
  for (let i = 31; i <= 35; i++) p[i] = { x: -20 + (i - 31) * 10, y: 30 };
  const eye = (first: number, cx: number) => {
    const h = eyeOpen * 30; // corners 30 apart: EAR = h / 30
    p[first] = { x: cx - 15, y: 0 };
    p[first + 1] = { x: cx - 5, y: -h / 2 };
    p[first + 2] = { x: cx + 5, y: -h / 2 };
    p[first + 3] = { x: cx + 15, y: 0 };
    p[first + 4] = { x: cx + 5, y: h / 2 };
    p[first + 5] = { x: cx - 5, y: h / 2 };
  };
  eye(36, -45);
  eye(42, 45);
  for (let i = 48; i <= 59; i++) p[i] = { x: -30 + (i - 48) * 5, y: 60 };
  const gap = mouthOpen * 40;
  p[60] = { x: -20, y: 60 };
  p[64] = { x: 20, y: 60 };
  [61, 62, 63].forEach((i, k) => (p[i] = { x: -10 + k * 10, y: 60 - gap / 2 }));
  [67, 66, 65].forEach((i, k) => (p[i] = { x: -10 + k * 10, y: 60 + gap / 2 }));
  const [c, s] = [Math.cos(roll), Math.sin(roll)];
  return p.map(({ x, y }) => ({ x: 320 + x * c - y * s, y: 240 + x * s + y * c }));
}

const one = (points: Point[]): FrameLandmarks => ({ faceCount: 1, landmarks: points });

describe('measureFace (pure)', () => {
  it('a frontal face: no yaw, open eyes, closed mouth', () => {
    const m = measureFace(face());
    expect(m.yawDeg).toBe(0);
    expect(m.ear).toBeCloseTo(0.3, 3);
    expect(m.mouth).toBeCloseTo(0.02, 3);
    expect(m.pitch).toBeCloseTo(0.167, 3);
  });

  it('the nose towards the image’s right is a turn to the person’s own left (positive yaw)', () => {
    // Nose a quarter face-width right of centre: from the jaw ends 150 and 50 px, offset 0.5, asin 30°.
    expect(measureFace(face({ noseShift: 0.25 })).yawDeg).toBe(30);
    expect(measureFace(face({ noseShift: -0.25 })).yawDeg).toBe(-30);
  });

  it('a tilted head (roll) is not a turn, and the eyes and mouth read the same', () => {
    const upright = measureFace(face({ noseShift: 0.1, eyeOpen: 0.15, mouthOpen: 0.5 }));
    const tilted = measureFace(face({ noseShift: 0.1, eyeOpen: 0.15, mouthOpen: 0.5, roll: 0.4 }));
    expect(tilted.yawDeg).toBeCloseTo(upright.yawDeg, 1);
    expect(tilted.ear).toBeCloseTo(upright.ear, 3);
    expect(tilted.mouth).toBeCloseTo(upright.mouth, 3);
    expect(tilted.pitch).toBeCloseTo(upright.pitch, 3);
  });

  it('refuses anything but 68 points', () => {
    expect(() => measureFace(face().slice(0, 67))).toThrow(/68 landmarks expected/);
  });
});

describe('judgeLiveness (pure)', () => {
  const frontal = face();
  const cases: [string, LivenessMovement | null, Point[], Point[], string][] = [
    ['turn left: yaw +30°', 'TURN_LEFT', frontal, face({ noseShift: 0.25 }), 'PASSED'],
    ['turn left, but turned right', 'TURN_LEFT', frontal, face({ noseShift: -0.25 }), 'NOT_OBSERVED'],
    ['turn left, only 11°', 'TURN_LEFT', frontal, face({ noseShift: 0.1 }), 'NOT_OBSERVED'],
    ['turn right: yaw −30°', 'TURN_RIGHT', frontal, face({ noseShift: -0.25 }), 'PASSED'],
    ['turn right, but turned left', 'TURN_RIGHT', frontal, face({ noseShift: 0.25 }), 'NOT_OBSERVED'],
    ['turn either way', 'TURN_EITHER', frontal, face({ noseShift: -0.25 }), 'PASSED'],
    ['nod: the nose drops', 'NOD', frontal, face({ noseDrop: 0.15 }), 'PASSED'],
    ['nod, barely', 'NOD', frontal, face({ noseDrop: 0.03 }), 'NOT_OBSERVED'],
    ['blink: open, then shut', 'BLINK', frontal, face({ eyeOpen: 0.08 }), 'PASSED'],
    ['blink: shut, then open (either order)', 'BLINK', face({ eyeOpen: 0.08 }), frontal, 'PASSED'],
    ['blink: half shut is not shut', 'BLINK', frontal, face({ eyeOpen: 0.2 }), 'NOT_OBSERVED'],
    ['blink: both frames shut', 'BLINK', face({ eyeOpen: 0.1 }), face({ eyeOpen: 0.08 }), 'NOT_OBSERVED'],
    ['open mouth', 'OPEN_MOUTH', frontal, face({ mouthOpen: 0.6 }), 'PASSED'],
    ['mouth barely open', 'OPEN_MOUTH', frontal, face({ mouthOpen: 0.25 }), 'NOT_OBSERVED'],
    ['identical frames', 'TURN_EITHER', frontal, frontal, 'NOT_OBSERVED'],
    ['a prompt landmarks cannot check', null, frontal, face({ noseShift: 0.25 }), 'NOT_CHECKABLE'],
  ];
  it.each(cases)('%s → %s', (_name, movement, before, action, expected) => {
    expect(judgeLiveness(movement, one(before), one(action), thresholds).result).toBe(expected);
  });

  it('the figures of both frames come with the verdict', () => {
    const verdict = judgeLiveness('TURN_LEFT', one(face()), one(face({ noseShift: 0.25, eyeOpen: 0.1 })), thresholds);
    expect(verdict).toEqual<typeof verdict>({
      result: 'PASSED',
      before: { yawDeg: 0, pitch: 0.167, ear: 0.3, mouth: 0.02 } satisfies FaceMeasures,
      action: { yawDeg: 30, pitch: 0.167, ear: 0.1, mouth: 0.02 },
    });
  });

  it('a missing, extra or unreadable face is its own result, never "not observed"', () => {
    const good = one(face());
    expect(judgeLiveness('BLINK', good, { faceCount: 0 }, thresholds)).toEqual({ result: 'NO_FACE', before: measureFace(face()), action: null });
    expect(judgeLiveness('BLINK', { faceCount: 3 }, good, thresholds).result).toBe('MULTIPLE_FACES');
    expect(judgeLiveness(null, { faceCount: 2 }, good, thresholds).result).toBe('MULTIPLE_FACES');
    expect(judgeLiveness('BLINK', good, { faceCount: 0, unreadable: 'bad huffman' }, thresholds).result).toBe('UNREADABLE');
  });
});

describe('movementOf (pure)', () => {
  it('knows the default pools, lets a template name the movement, and leaves the rest uncheckable', () => {
    expect(['liveness_turn_left', 'liveness_turn_right', 'liveness_nod', 'liveness_blink', 'liveness_open_mouth'].map((id) => movementOf({ id }))).toEqual(['TURN_LEFT', 'TURN_RIGHT', 'NOD', 'BLINK', 'OPEN_MOUTH']);
    expect(['liveness_read_digits', 'liveness_raise_hand', 'liveness_say_date'].map((id) => movementOf({ id }))).toEqual([null, null, null]);
    expect(movementOf({ id: 'look_away', check: 'TURN_EITHER' })).toBe('TURN_EITHER');
    expect(movementOf(undefined)).toBeNull();
  });
});

describe('the real model on the sample photographs', () => {
  const matcher = new FaceMatcher();
  let frames: { turnedRight: Buffer; turnedLeft: Buffer; mouthOpen: Buffer; group: Buffer; blank: Buffer };
  beforeAll(async () => {
    frames = { turnedRight: liveFace(POSES.turnedRight), turnedLeft: liveFace(POSES.turnedRight, { mirrored: true }), mouthOpen: liveFace(POSES.mouthOpen), group: samplePhoto(1), blank: blankPng() };
    await matcher.load();
  }, 120_000);
  afterAll(() => matcher.close());

  it('a head turned from her right to her left passes TURN_LEFT and TURN_EITHER, not TURN_RIGHT', async () => {
    const seen = await matcher.landmarks(frames.turnedRight, frames.turnedLeft);
    expect(seen.model).toMatchObject({ name: 'face-api ssd-mobilenetv1 + face-landmark-68' });
    expect(seen.model.version).toContain('@vladmandic/face-api 1.7.15');
    expect([seen.before.faceCount, seen.action.faceCount]).toEqual([1, 1]);
    expect(seen.before.landmarks).toHaveLength(68);
    const left = judgeLiveness('TURN_LEFT', seen.before, seen.action, thresholds);
    expect(left.result).toBe('PASSED');
    expect(left.before!.yawDeg).toBeLessThan(-15);
    expect(left.action!.yawDeg).toBeGreaterThan(15);
    expect(judgeLiveness('TURN_EITHER', seen.before, seen.action, thresholds).result).toBe('PASSED');
    expect(judgeLiveness('TURN_RIGHT', seen.before, seen.action, thresholds).result).toBe('NOT_OBSERVED');
    expect(seen.cpuMicros.user).toBeGreaterThan(0);
  }, 60_000);

  it('two identical frames show no movement of any kind', async () => {
    const seen = await matcher.landmarks(frames.turnedRight, frames.turnedRight);
    for (const movement of ['TURN_LEFT', 'TURN_RIGHT', 'TURN_EITHER', 'NOD', 'BLINK', 'OPEN_MOUTH'] as const) {
      expect(judgeLiveness(movement, seen.before, seen.action, thresholds).result).toBe('NOT_OBSERVED');
    }
    const verdict = judgeLiveness('BLINK', seen.before, seen.action, thresholds);
    expect(verdict.before).toEqual(verdict.action);
    expect(verdict.before!.ear).toBeGreaterThanOrEqual(thresholds.eyesOpenAt);
  }, 60_000);

  it('a closed mouth, then an open one, passes OPEN_MOUTH', async () => {
    const seen = await matcher.landmarks(frames.turnedRight, frames.mouthOpen);
    const verdict = judgeLiveness('OPEN_MOUTH', seen.before, seen.action, thresholds);
    expect(verdict.result).toBe('PASSED');
    expect(verdict.before!.mouth).toBeLessThan(thresholds.mouthClosedBelow);
    expect(verdict.action!.mouth).toBeGreaterThanOrEqual(thresholds.mouthOpenAt);
  }, 60_000);

  it('a group photograph is MULTIPLE_FACES and a blank frame NO_FACE', async () => {
    const group = await matcher.landmarks(frames.turnedRight, frames.group);
    expect(group.action.faceCount).toBeGreaterThan(1);
    expect(judgeLiveness('TURN_LEFT', group.before, group.action, thresholds).result).toBe('MULTIPLE_FACES');
    const blank = await matcher.landmarks(frames.blank, frames.turnedRight);
    expect(blank.before.faceCount).toBe(0);
    expect(judgeLiveness('TURN_LEFT', blank.before, blank.action, thresholds).result).toBe('NO_FACE');
  }, 60_000);
});
