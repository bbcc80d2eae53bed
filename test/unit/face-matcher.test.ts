// The face-match assist with the real model (face-api on TensorFlow.js WebAssembly) in its worker
// thread, on the sample photographs the package ships. The models load once for the file.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classify, FaceMatcher, similarityOf, type FaceComparison, type FaceMatchThresholds } from '../../recordings/face-matcher.js';
import { blankPng, FACES, idCard, liveFace, samplePhoto } from '../support/face-samples.js';

const thresholds: FaceMatchThresholds = { matchAt: 0.6, noMatchBelow: 0.4 };

describe('classify (pure)', () => {
  const one = { faceCount: 1 };
  const cases: [string, Pick<FaceComparison, 'id' | 'live' | 'distance'>, ReturnType<typeof classify>][] = [
    ['close descriptors match', { id: one, live: one, distance: 0.3 }, { result: 'MATCH', score: 0.7 }],
    ['exactly at the match threshold', { id: one, live: one, distance: 0.4 }, { result: 'MATCH', score: 0.6 }],
    ['between the thresholds', { id: one, live: one, distance: 0.5 }, { result: 'UNCERTAIN', score: 0.5 }],
    ['exactly at the no-match threshold is uncertain', { id: one, live: one, distance: 0.6 }, { result: 'UNCERTAIN', score: 0.4 }],
    ['far apart', { id: one, live: one, distance: 0.9 }, { result: 'NO_MATCH', score: 0.1 }],
    ['no face on the ID is not a low score', { id: { faceCount: 0 }, live: one, distance: null }, { result: 'NO_FACE', score: null }],
    ['no face live', { id: one, live: { faceCount: 0 }, distance: null }, { result: 'NO_FACE', score: null }],
    ['two faces', { id: one, live: { faceCount: 2 }, distance: null }, { result: 'MULTIPLE_FACES', score: null }],
    ['an unreadable image', { id: { faceCount: 0, unreadable: 'bad huffman' }, live: one, distance: null }, { result: 'UNREADABLE', score: null }],
  ];
  it.each(cases)('%s', (_name, comparison, expected) => {
    expect(classify(comparison, thresholds)).toEqual(expected);
  });

  it('similarity stays within 0..1', () => {
    expect(similarityOf(1.3)).toBe(0);
    expect(similarityOf(0)).toBe(1);
  });
});

describe('FaceMatcher (real model, worker thread)', () => {
  const matcher = new FaceMatcher();
  beforeAll(async () => {
    await matcher.load();
  }, 60_000);
  afterAll(() => matcher.close());

  it('the same person on an ID card and live matches, with one face and a crop on each side', async () => {
    const comparison = await matcher.compare(idCard(FACES.sample1Left), liveFace(FACES.sample1Left));
    expect(comparison.id.faceCount).toBe(1);
    expect(comparison.live.faceCount).toBe(1);
    expect(classify(comparison, thresholds).result).toBe('MATCH');
    for (const side of [comparison.id, comparison.live]) {
      // A JPEG (SOI marker) of a square crop.
      expect(Buffer.from(side.crop!).subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]));
    }
    expect(comparison.model.version).toContain('@vladmandic/face-api 1.7.15');
    expect(comparison.cpuMicros.user).toBeGreaterThan(0);
  }, 60_000);

  it('different people do not match', async () => {
    const comparison = await matcher.compare(idCard(FACES.sample1Left), liveFace(FACES.sample5Top));
    expect(comparison.id.faceCount).toBe(1);
    expect(comparison.live.faceCount).toBe(1);
    expect(classify(comparison, thresholds).result).toBe('NO_MATCH');
  }, 60_000);

  it('a photograph with several faces is reported as such, with no score', async () => {
    const comparison = await matcher.compare(idCard(FACES.sample1Left), samplePhoto(1));
    expect(comparison.live.faceCount).toBeGreaterThan(1);
    expect(comparison.live.crop).toBeUndefined();
    expect(comparison.distance).toBeNull();
    expect(classify(comparison, thresholds)).toEqual({ result: 'MULTIPLE_FACES', score: null });
  }, 60_000);

  it('a blank image reports no face, with no score', async () => {
    const comparison = await matcher.compare(blankPng(), liveFace(FACES.sample1Left));
    expect(comparison.id.faceCount).toBe(0);
    expect(comparison.live.faceCount).toBe(1);
    expect(classify(comparison, thresholds)).toEqual({ result: 'NO_FACE', score: null });
  }, 60_000);
});
