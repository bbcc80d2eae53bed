/// <reference lib="es2024.arraybuffer" />
// SHA-256 of a recording as it flows past: recordings are several gigabytes, so the hash is taken
// chunk by chunk and memory stays flat whatever the object's size.
import { createHash } from 'node:crypto';
import { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';

export interface StreamDigest {
  /** Lower-case hex. */
  sha256: string;
  bytes: bigint;
}

/**
 * Consumes `readable` to its end. `for await` pulls one chunk at a time (backpressure reaches the
 * socket), and destroys the stream if hashing stops early; a stream that errors (a dropped
 * connection) rejects instead of producing the hash of a truncated object.
 */
export async function sha256OfStream(readable: Readable): Promise<StreamDigest> {
  const hash = createHash('sha256');
  const release = ownsItsChunks(readable);
  let bytes = 0; // a number is exact up to 8 PiB and cheaper than a bigint per chunk
  for await (const chunk of readable as AsyncIterable<Uint8Array>) {
    hash.update(chunk);
    bytes += chunk.byteLength;
    if (release) releaseChunk(chunk);
  }
  return { sha256: hash.digest('hex'), bytes: BigInt(bytes) };
}

/**
 * Whether each chunk the stream yields is a buffer nothing else can reach once it is handed over:
 * an HTTP response body (the store's GetObject) read by this loop alone. Node's HTTP client copies
 * every body chunk out of the socket's read buffer into a buffer of its own, and a `data` listener
 * or a pipe would be a second holder.
 */
function ownsItsChunks(readable: Readable): boolean {
  return readable instanceof IncomingMessage && readable.listenerCount('data') === 0;
}

/**
 * Frees a hashed chunk's memory now rather than at the next garbage collection. Left to the
 * collector, up to about 64 MB of 64 KiB chunks wait for it at any time, the allocator hands their
 * memory back to the kernel in bulk, and the next chunks fault in fresh pages: detaching each
 * chunk (a zero-length transfer) lets the allocator reuse its memory for the next one. Only a
 * chunk that is the whole of its buffer is detached, never a view into a buffer shared with
 * other chunks.
 */
function releaseChunk(chunk: Uint8Array): void {
  const buffer = chunk.buffer;
  if (buffer instanceof ArrayBuffer && chunk.byteOffset === 0 && chunk.byteLength === buffer.byteLength && !buffer.detached) buffer.transfer(0);
}
