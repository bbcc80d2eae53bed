// The face-model worker thread (started by face-matcher.ts): face matching, and the landmarks of the
// liveness check's two frames. Plain JavaScript so that it starts the
// same way under tsx, vitest and the compiled dist/: a worker thread does not inherit a TypeScript
// loader. It decodes JPEG/PNG in pure JavaScript (jpeg-js, pngjs), runs @vladmandic/face-api on
// TensorFlow.js's WebAssembly backend (the .wasm files come inside the npm package, read from disk),
// and answers one request at a time. Models load once, at the first request.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { parentPort } from 'node:worker_threads';

const require = createRequire(import.meta.url);

/** Detection below this confidence is not a face. */
const MIN_CONFIDENCE = 0.5;
/** Larger images are scaled down first: the detector works at 512 px, and faces stay well above its minimum. */
const MAX_SIDE = 1280;
/** Crops shown to the agent and kept in the evidence: square, this many pixels a side. */
const CROP_SIDE = 224;
/** Largest image decoded (megapixels); a snapshot is at most a few. */
const MAX_MEGAPIXELS = 40;

let runtime;

/** This thread's CPU time where Node can tell it (22.19+ / 23.9+), else the process's. */
const cpuUsage = (previous) => (process.threadCpuUsage ? process.threadCpuUsage(previous) : process.cpuUsage(previous));

async function load() {
  const tf = require('@tensorflow/tfjs');
  const wasm = require('@tensorflow/tfjs-backend-wasm');
  const faceapi = require('@vladmandic/face-api/dist/face-api.node-wasm.js');
  const jpeg = require('jpeg-js');
  const { PNG } = require('pngjs');
  // false: emscripten reads the .wasm from disk; the platform fetch would want a URL.
  wasm.setWasmPaths(join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + '/', false);
  if (!(await tf.setBackend('wasm'))) throw new Error('the TensorFlow.js WebAssembly backend did not start');
  await tf.ready();
  const modelDir = join(dirname(require.resolve('@vladmandic/face-api/package.json')), 'model');
  await faceapi.nets.ssdMobilenetv1.loadFromDisk(modelDir);
  await faceapi.nets.faceLandmark68Net.loadFromDisk(modelDir);
  await faceapi.nets.faceRecognitionNet.loadFromDisk(modelDir);
  const faceApiVersion = require('@vladmandic/face-api/package.json').version;
  return {
    tf,
    faceapi,
    jpeg,
    PNG,
    model: {
      name: 'face-api ssd-mobilenetv1 + face-landmark-68 + face-recognition (ResNet-34, 128-d)',
      version: `@vladmandic/face-api ${faceApiVersion}; tfjs ${tf.version_core} wasm`,
    },
    landmarkModel: {
      name: 'face-api ssd-mobilenetv1 + face-landmark-68',
      version: `@vladmandic/face-api ${faceApiVersion}; tfjs ${tf.version_core} wasm`,
    },
  };
}

/** RGB bytes, or a reason the image cannot be read. */
function decode(rt, bytes) {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buffer[0] === 0xff && buffer[1] === 0xd8) {
    const img = rt.jpeg.decode(buffer, { useTArray: true, formatAsRGBA: false, maxResolutionInMP: MAX_MEGAPIXELS, maxMemoryUsageInMB: 512 });
    return { width: img.width, height: img.height, rgb: img.data };
  }
  const png = rt.PNG.sync.read(buffer);
  if (png.width * png.height > MAX_MEGAPIXELS * 1_000_000) throw new Error('image too large');
  const rgb = new Uint8Array(png.width * png.height * 3);
  // Transparent pixels are composited on white, as a viewer would show them.
  for (let i = 0, o = 0; i < png.data.length; i += 4, o += 3) {
    const a = png.data[i + 3] / 255;
    rgb[o] = Math.round(png.data[i] * a + 255 * (1 - a));
    rgb[o + 1] = Math.round(png.data[i + 1] * a + 255 * (1 - a));
    rgb[o + 2] = Math.round(png.data[i + 2] * a + 255 * (1 - a));
  }
  return { width: png.width, height: png.height, rgb };
}

/**
 * The image as the detector's input tensor, scaled down to MAX_SIDE at most (the caller disposes of
 * it), or why it could not be read.
 */
function inputOf(rt, bytes) {
  const { tf } = rt;
  let image;
  try {
    image = decode(rt, bytes);
  } catch (error) {
    return { unreadable: String(error instanceof Error ? error.message : error).slice(0, 200) };
  }
  const scale = Math.min(1, MAX_SIDE / Math.max(image.width, image.height));
  const input = tf.tidy(() => {
    const full = tf.tensor3d(image.rgb, [image.height, image.width, 3], 'int32');
    if (scale === 1) return full;
    return tf.image.resizeBilinear(full, [Math.round(image.height * scale), Math.round(image.width * scale)]).round().toInt();
  });
  return { input, scale };
}

/** One image: how many faces, and for exactly one, its box, descriptor and a JPEG crop. */
async function analyse(rt, bytes) {
  const { tf, faceapi } = rt;
  const loaded = inputOf(rt, bytes);
  if ('unreadable' in loaded) return { faceCount: 0, unreadable: loaded.unreadable };
  const { input, scale } = loaded;
  try {
    const faces = await faceapi.detectAllFaces(input, new faceapi.SsdMobilenetv1Options({ minConfidence: MIN_CONFIDENCE, maxResults: 10 })).withFaceLandmarks().withFaceDescriptors();
    if (faces.length !== 1) return { faceCount: faces.length };
    const face = faces[0];
    const box = face.detection.box;
    const [height, width] = input.shape;
    // The crop: the face box grown by 40 % and made square, clamped to the image.
    const side = Math.min(Math.max(box.width, box.height) * 1.4, width, height);
    const left = Math.min(Math.max(0, box.x + box.width / 2 - side / 2), width - side);
    const top = Math.min(Math.max(0, box.y + box.height / 2 - side / 2), height - side);
    const pixels = tf.tidy(() =>
      tf.image
        .cropAndResize(input.expandDims(0).toFloat(), [[top / height, left / width, (top + side) / height, (left + side) / width]], [0], [CROP_SIDE, CROP_SIDE])
        .squeeze()
        .round()
        .clipByValue(0, 255)
        .toInt(),
    );
    const rgb = await pixels.data();
    pixels.dispose();
    const rgba = Buffer.alloc(CROP_SIDE * CROP_SIDE * 4);
    for (let i = 0, o = 0; i < rgb.length; i += 3, o += 4) {
      rgba[o] = rgb[i];
      rgba[o + 1] = rgb[i + 1];
      rgba[o + 2] = rgb[i + 2];
      rgba[o + 3] = 255;
    }
    const crop = rt.jpeg.encode({ data: rgba, width: CROP_SIDE, height: CROP_SIDE }, 90).data;
    return {
      faceCount: 1,
      confidence: face.detection.score,
      box: { x: Math.round(box.x / scale), y: Math.round(box.y / scale), width: Math.round(box.width / scale), height: Math.round(box.height / scale) },
      descriptor: Array.from(face.descriptor),
      crop: new Uint8Array(crop),
    };
  } finally {
    input.dispose();
  }
}

/** One frame for the liveness check: how many faces, and for exactly one, its 68 landmarks (pixels of the image). */
async function landmarksOf(rt, bytes) {
  const { faceapi } = rt;
  const loaded = inputOf(rt, bytes);
  if ('unreadable' in loaded) return { faceCount: 0, unreadable: loaded.unreadable };
  const { input, scale } = loaded;
  try {
    const faces = await faceapi.detectAllFaces(input, new faceapi.SsdMobilenetv1Options({ minConfidence: MIN_CONFIDENCE, maxResults: 10 })).withFaceLandmarks();
    if (faces.length !== 1) return { faceCount: faces.length };
    return { faceCount: 1, landmarks: faces[0].landmarks.positions.map((p) => ({ x: p.x / scale, y: p.y / scale })) };
  } finally {
    input.dispose();
  }
}

async function landmarks(rt, beforeImage, actionImage) {
  const started = cpuUsage();
  const before = await landmarksOf(rt, beforeImage);
  const action = await landmarksOf(rt, actionImage);
  return { model: rt.landmarkModel, before, action, cpuMicros: cpuUsage(started) };
}

async function compare(rt, idImage, liveImage) {
  const started = cpuUsage();
  const id = await analyse(rt, idImage);
  const live = await analyse(rt, liveImage);
  const distance = id.faceCount === 1 && live.faceCount === 1 ? rt.faceapi.euclideanDistance(id.descriptor, live.descriptor) : null;
  const side = ({ descriptor: _descriptor, ...rest }) => rest;
  return { model: rt.model, id: side(id), live: side(live), distance, cpuMicros: cpuUsage(started) };
}

async function handle(message) {
  try {
    runtime ??= load().catch((error) => {
      runtime = undefined;
      throw error;
    });
    const rt = await runtime;
    if (message.type === 'load') {
      parentPort.postMessage({ requestId: message.requestId, ok: true, result: { model: rt.model } });
      return;
    }
    if (message.type === 'decode') {
      // The benchmark's baseline: what decoding alone costs, without any model.
      const started = cpuUsage();
      decode(rt, message.idImage);
      decode(rt, message.liveImage);
      parentPort.postMessage({ requestId: message.requestId, ok: true, result: { cpuMicros: cpuUsage(started) } });
      return;
    }
    if (message.type === 'landmarks') {
      const result = await landmarks(rt, message.beforeImage, message.actionImage);
      parentPort.postMessage({ requestId: message.requestId, ok: true, result });
      return;
    }
    const result = await compare(rt, message.idImage, message.liveImage);
    const transfer = [result.id.crop?.buffer, result.live.crop?.buffer].filter(Boolean);
    parentPort.postMessage({ requestId: message.requestId, ok: true, result }, transfer);
  } catch (error) {
    parentPort.postMessage({ requestId: message.requestId, ok: false, error: error instanceof Error ? error.message : String(error) });
  }
}

// One request at a time: the WebAssembly backend is single-threaded, and interleaving would only
// make every answer later.
let queue = Promise.resolve();
parentPort.on('message', (message) => {
  queue = queue.then(() => handle(message));
});
