// Snapshots for the face-match tests, made from the sample photographs that @vladmandic/face-api ships
// (node_modules/@vladmandic/face-api/demo/sample1..6.jpg: group photographs, three to five faces each).
// An "ID card" is one face of a photograph, reduced onto a card with printed lines beside it; a
// "live face" is a camera-like crop around the same face (or another person's) from a photograph.
// The face boxes were found by the model on the full photographs (pixels of the original image).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';

const require = createRequire(import.meta.url);
const demoDir = join(dirname(require.resolve('@vladmandic/face-api/package.json')), 'demo');

export type Sample = 1 | 2 | 3 | 4 | 5 | 6;
export interface Face {
  sample: Sample;
  /** Centre and size of the face box. */
  cx: number;
  cy: number;
  size: number;
}

/** Two different people (the model put them 0.85 apart, far beyond any match). */
export const FACES = {
  sample1Left: { sample: 1, cx: 503, cy: 444, size: 178 },
  sample5Top: { sample: 5, cx: 865, cy: 187, size: 156 },
} as const satisfies Record<string, Face>;

export function samplePhoto(sample: Sample): Buffer {
  return readFileSync(join(demoDir, `sample${sample}.jpg`));
}

interface Rgba {
  width: number;
  height: number;
  data: Buffer;
}

const decoded = new Map<Sample, Rgba>();
function photo(sample: Sample): Rgba {
  let image = decoded.get(sample);
  if (!image) {
    const d = jpeg.decode(samplePhoto(sample), { maxMemoryUsageInMB: 512 });
    image = { width: d.width, height: d.height, data: Buffer.from(d.data) };
    decoded.set(sample, image);
  }
  return image;
}

/** A square region around the face (`scale` × its size), resampled to `side` pixels (area average). */
function region(face: Face, scale: number, side: number): Rgba {
  const src = photo(face.sample);
  const span = face.size * scale;
  const x0 = Math.max(0, Math.min(src.width - span, face.cx - span / 2));
  const y0 = Math.max(0, Math.min(src.height - span, face.cy - span / 2));
  const out = Buffer.alloc(side * side * 4);
  const step = span / side;
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < side; x++) {
      const sum = [0, 0, 0];
      let n = 0;
      const sy0 = Math.floor(y0 + y * step);
      const sx0 = Math.floor(x0 + x * step);
      // At least one source pixel, also when enlarging.
      const sy1 = Math.min(src.height, Math.max(sy0 + 1, Math.floor(y0 + (y + 1) * step)));
      const sx1 = Math.min(src.width, Math.max(sx0 + 1, Math.floor(x0 + (x + 1) * step)));
      for (let sy = sy0; sy < sy1; sy++) {
        for (let sx = sx0; sx < sx1; sx++) {
          const i = (sy * src.width + sx) * 4;
          sum[0]! += src.data[i]!;
          sum[1]! += src.data[i + 1]!;
          sum[2]! += src.data[i + 2]!;
          n++;
        }
      }
      const o = (y * side + x) * 4;
      out[o] = Math.round(sum[0]! / Math.max(1, n));
      out[o + 1] = Math.round(sum[1]! / Math.max(1, n));
      out[o + 2] = Math.round(sum[2]! / Math.max(1, n));
      out[o + 3] = 255;
    }
  }
  return { width: side, height: side, data: out };
}

/**
 * Faces for the liveness check, measured by the model on liveFace crops: a woman looking over her
 * right shoulder, her head turned about 39° (mirrored, the same face turned as far to her left; her
 * mouth is closed), and another woman with her mouth open.
 */
export const POSES = {
  turnedRight: FACES.sample1Left,
  mouthOpen: { sample: 5, cx: 680, cy: 497, size: 166 },
} as const satisfies Record<string, Face>;

/** Left and right swapped, as a head turned the other way would look (faces are close to symmetric). */
function mirror(image: Rgba): Rgba {
  const out = Buffer.alloc(image.data.length);
  for (let y = 0; y < image.height; y++) {
    for (let x = 0; x < image.width; x++) {
      image.data.copy(out, (y * image.width + (image.width - 1 - x)) * 4, (y * image.width + x) * 4, (y * image.width + x) * 4 + 4);
    }
  }
  return { ...image, data: out };
}

/** The camera snapshot: the face and its surroundings, 480 px square, as JPEG (mirrored on request). */
export function liveFace(face: Face, options: { mirrored?: boolean } = {}): Buffer {
  const image = region(face, 2.4, 480);
  return Buffer.from(jpeg.encode(options.mirrored ? mirror(image) : image, 85).data);
}

/**
 * An ID card (856 × 540, the ID-1 proportions): a pale card, the portrait at the left (the face
 * reduced to about a fifth of the card's width, and paler, as printed photos are), dark lines for the
 * printed text at the right. JPEG at quality 70, as a phone camera would save it.
 */
export function idCard(face: Face): Buffer {
  const width = 856;
  const height = 540;
  const card = Buffer.alloc(width * height * 4);
  for (let i = 0; i < card.length; i += 4) {
    card[i] = 222;
    card[i + 1] = 230;
    card[i + 2] = 238;
    card[i + 3] = 255;
  }
  const portrait = region(face, 1.6, 260);
  for (let y = 0; y < portrait.height; y++) {
    for (let x = 0; x < portrait.width; x++) {
      const s = (y * portrait.width + x) * 4;
      const o = ((140 + y) * width + 60 + x) * 4;
      for (let c = 0; c < 3; c++) card[o + c] = Math.round(portrait.data[s + c]! * 0.85 + 255 * 0.15);
    }
  }
  for (let line = 0; line < 6; line++) {
    for (let y = 150 + line * 50; y < 166 + line * 50; y++) {
      for (let x = 380; x < 780 - line * 30; x++) {
        const o = (y * width + x) * 4;
        card[o] = 40;
        card[o + 1] = 44;
        card[o + 2] = 52;
      }
    }
  }
  return Buffer.from(jpeg.encode({ width, height, data: card }, 70).data);
}

/** A plain grey PNG: an image with no face in it. */
export function blankPng(width = 640, height = 480): Buffer {
  const png = new PNG({ width, height });
  png.data.fill(180);
  for (let i = 3; i < png.data.length; i += 4) png.data[i] = 255;
  return PNG.sync.write(png);
}
