// SHA-256 of a recording as it flows past: recordings are several gigabytes, so the hash is taken
// chunk by chunk and memory stays flat whatever the object's size.
import { createHash } from 'node:crypto';
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
  let bytes = 0; // a number is exact up to 8 PiB and cheaper than a bigint per chunk
  for await (const chunk of readable as AsyncIterable<Uint8Array>) {
    hash.update(chunk);
    bytes += chunk.byteLength;
  }
  return { sha256: hash.digest('hex'), bytes: BigInt(bytes) };
}
