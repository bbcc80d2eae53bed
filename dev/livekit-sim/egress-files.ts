// Where and as what an egress file is stored, decided as livekit/egress decides it (pkg/config/output_file.go,
// pkg/types): the file type comes from `fileType` (by default OGG when audio-only, MP4 otherwise), the
// storage key is `filepath` with {room_name}/{room_id}/{time}/{utc} expanded and the extension forced to
// match the type, and the reported location is what livekit/storage returns for an S3 upload.
import { posix } from 'node:path';
import { EncodedFileType } from '@livekit/protocol';
import { TwirpError } from './twirp.js';

export type OutputType = 'audio/ogg' | 'audio/mpeg' | 'video/mp4';

/** Media shipped in fixtures/, uploaded as the recording. */
export type MediaFixture = 'audio.ogg' | 'audio.mp3' | 'audio-only.mp4' | 'audio-video.mp4' | 'video-only.mp4';

export interface PlannedFile {
  outputType: OutputType;
  /** The object key, templates expanded — what LiveKit reports as `filename`. */
  storageKey: string;
  fixture: MediaFixture;
}

export interface FilePlanInput {
  fileType: EncodedFileType;
  filepath: string;
  audioOnly: boolean;
  videoOnly: boolean;
  roomName: string;
  roomId: string;
  now: Date;
}

const EXTENSION: Record<OutputType, string> = { 'audio/ogg': '.ogg', 'audio/mpeg': '.mp3', 'video/mp4': '.mp4' };
const KNOWN_EXTENSIONS = new Set(['.raw', '.ogg', '.mp3', '.ivf', '.mp4', '.ts', '.webm', '.m3u8', '.jpeg']);

export function planFile(input: FilePlanInput): PlannedFile {
  if (input.audioOnly && input.videoOnly) {
    throw new TwirpError('invalid_argument', 'request has missing or invalid field: audio_only and video_only');
  }
  const outputType = outputTypeFor(input.fileType, input.audioOnly);
  if (outputType !== 'video/mp4' && !input.audioOnly) {
    throw new TwirpError('invalid_argument', `format ${outputType} incompatible with codec video/h264`);
  }
  return { outputType, storageKey: storageKey(input, outputType), fixture: fixtureFor(outputType, input) };
}

function outputTypeFor(fileType: EncodedFileType, audioOnly: boolean): OutputType {
  switch (fileType) {
    case EncodedFileType.MP4:
      return 'video/mp4';
    case EncodedFileType.OGG:
      return 'audio/ogg';
    case EncodedFileType.MP3:
      return 'audio/mpeg';
    case EncodedFileType.DEFAULT_FILETYPE:
      return audioOnly ? 'audio/ogg' : 'video/mp4';
  }
}

function fixtureFor(outputType: OutputType, input: FilePlanInput): MediaFixture {
  switch (outputType) {
    case 'audio/ogg':
      return 'audio.ogg';
    case 'audio/mpeg':
      return 'audio.mp3';
    case 'video/mp4':
      if (input.audioOnly) return 'audio-only.mp4';
      return input.videoOnly ? 'video-only.mp4' : 'audio-video.mp4';
  }
}

function storageKey(input: FilePlanInput, outputType: OutputType): string {
  const time = formatTime(input.now);
  const replacements: Record<string, string> = {
    '{room_name}': input.roomName,
    '{room_id}': input.roomId,
    '{time}': time,
    '{utc}': formatUtc(input.now),
  };
  let key = cleanPath(input.filepath);
  for (const [template, value] of Object.entries(replacements)) key = key.split(template).join(value);
  const extension = EXTENSION[outputType];
  if (key === '' || key.endsWith('/')) return `${key}${input.roomName}-${time}${extension}`;
  if (key.endsWith(extension)) return key;
  const dot = key.lastIndexOf('.');
  if (dot > -1 && KNOWN_EXTENSIONS.has(key.slice(dot))) key = key.slice(0, dot);
  return key + extension;
}

// Go's path.Clean, then the egress' own rules: no leading "../", and a trailing slash means "directory".
function cleanPath(filepath: string): string {
  if (filepath === '') return '';
  const directory = filepath.endsWith('/');
  let cleaned = posix.normalize(filepath);
  if (cleaned.length > 1 && cleaned.endsWith('/')) cleaned = cleaned.slice(0, -1);
  while (cleaned.startsWith('../')) cleaned = cleaned.slice(3);
  if (cleaned === '' || cleaned === '.' || cleaned === '..') return '';
  return directory ? `${cleaned}/` : cleaned;
}

const pad = (value: number, width = 2): string => String(value).padStart(width, '0');

/** Go layout 2006-01-02T150405, in UTC. */
function formatTime(now: Date): string {
  return `${now.getUTCFullYear()}-${pad(now.getUTCMonth() + 1)}-${pad(now.getUTCDate())}T${pad(now.getUTCHours())}${pad(now.getUTCMinutes())}${pad(now.getUTCSeconds())}`;
}

/** Go layout 20060102150405 plus milliseconds. */
function formatUtc(now: Date): string {
  return `${now.getUTCFullYear()}${pad(now.getUTCMonth() + 1)}${pad(now.getUTCDate())}${pad(now.getUTCHours())}${pad(now.getUTCMinutes())}${pad(now.getUTCSeconds())}${pad(now.getUTCMilliseconds(), 3)}`;
}

/** livekit/storage's location for an uploaded object. */
export function s3Location(upload: { endpoint: string; bucket: string; forcePathStyle: boolean }, key: string): string {
  const endpoint = upload.endpoint === '' ? 's3.amazonaws.com' : upload.endpoint;
  if (upload.forcePathStyle) {
    const base = endpoint.startsWith('http') ? endpoint : `https://${endpoint}`;
    return `${base}/${upload.bucket}/${key}`;
  }
  return `https://${upload.bucket}.${endpoint}/${key}`;
}

/** The egress manifest, `<egress id>.json` next to the file unless `disableManifest`. */
export function manifestKey(storageKey: string, egressId: string): string {
  const directory = posix.dirname(storageKey);
  return directory === '.' ? `${egressId}.json` : `${directory}/${egressId}.json`;
}

export function manifestJson(manifest: {
  egressId: string;
  roomId: string;
  roomName: string;
  startedAt: bigint;
  endedAt: bigint;
  files: { filename: string; location: string }[];
}): string {
  // Nanosecond timestamps exceed 2^53, so the numbers are written out by hand, as Go's encoder would.
  const files = JSON.stringify(manifest.files);
  return (
    `{"egress_id":${JSON.stringify(manifest.egressId)},"room_id":${JSON.stringify(manifest.roomId)},` +
    `"room_name":${JSON.stringify(manifest.roomName)},"started_at":${manifest.startedAt},` +
    `"ended_at":${manifest.endedAt},"files":${files}}`
  );
}
