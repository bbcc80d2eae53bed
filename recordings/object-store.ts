// The S3-compatible object store that holds recordings and captures (AWS S3, MinIO, Ceph RGW, R2;
// s3rver in dev). One small API over @aws-sdk/client-s3 for the whole recordings pipeline.
import type { Readable } from 'node:stream';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  GetObjectLockConfigurationCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  PutObjectCommand,
  PutObjectLegalHoldCommand,
  PutObjectRetentionCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import type { Config } from '../server/config.js';

export type ObjectStoreSettings = Config['s3'];
export type ServerSideEncryption = Config['recordings']['sse'];

export function createS3Client(settings: ObjectStoreSettings): S3Client {
  return new S3Client({
    region: settings.region,
    forcePathStyle: settings.forcePathStyle,
    ...(settings.endpoint ? { endpoint: settings.endpoint } : {}),
    ...(settings.accessKeyId && settings.secretAccessKey
      ? { credentials: { accessKeyId: settings.accessKeyId, secretAccessKey: settings.secretAccessKey } }
      : {}),
    maxAttempts: 2,
    // A store that stops answering must not hold a job forever: the socket may idle at most 30 s.
    requestHandler: { connectionTimeout: 5_000, requestTimeout: 30_000 },
  });
}

export interface ObjectHead {
  size: bigint;
  contentType: string | undefined;
}

export interface ObjectStream {
  body: Readable;
  /** Bytes in this response (the range's length for a ranged read). */
  contentLength: number;
  /** `bytes start-end/total` for a ranged read. */
  contentRange: string | undefined;
  contentType: string | undefined;
}

const isNotFound = (error: unknown) =>
  error instanceof S3ServiceException && (error.name === 'NotFound' || error.name === 'NoSuchKey' || error.$metadata.httpStatusCode === 404);

export class RecordingStore {
  constructor(
    readonly s3: S3Client,
    readonly bucket: string,
    private readonly sse: ServerSideEncryption = { kind: 'none' },
  ) {}

  /** Readiness: the bucket exists and our credentials reach it. */
  async ping(signal?: AbortSignal): Promise<void> {
    await this.s3.send(new HeadBucketCommand({ Bucket: this.bucket }), signal ? { abortSignal: signal } : {});
  }

  /** Undefined when there is no such object; other failures (store unreachable) throw. */
  async head(key: string): Promise<ObjectHead | undefined> {
    try {
      const res = await this.s3.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return { size: BigInt(res.ContentLength ?? 0), contentType: res.ContentType };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  /** Streams an object, or the inclusive byte range [start, end] of it. */
  async read(key: string, range?: { start: number; end: number }): Promise<ObjectStream> {
    const res = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key, ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}) }));
    if (!res.Body) throw new Error(`object ${key} has no body`);
    return { body: res.Body as Readable, contentLength: res.ContentLength ?? 0, contentRange: res.ContentRange, contentType: res.ContentType };
  }

  async put(key: string, body: Buffer, contentType: string): Promise<void> {
    await this.s3.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: key,
        Body: body,
        ContentType: contentType,
        ...(this.sse.kind === 'AES256' ? { ServerSideEncryption: 'AES256' } : {}),
        ...(this.sse.kind === 'aws:kms' ? { ServerSideEncryption: 'aws:kms', SSEKMSKeyId: this.sse.keyId } : {}),
      }),
    );
  }

  async delete(key: string): Promise<void> {
    await this.s3.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
  }

  /** Whether the bucket has S3 Object Lock enabled (then retention is enforced by the store itself). */
  async objectLockSupported(): Promise<boolean> {
    try {
      const res = await this.s3.send(new GetObjectLockConfigurationCommand({ Bucket: this.bucket }));
      return res.ObjectLockConfiguration?.ObjectLockEnabled === 'Enabled';
    } catch (error) {
      if (error instanceof S3ServiceException) return false; // not configured, or not implemented by this store
      throw error;
    }
  }

  async applyRetention(key: string, until: Date, mode: 'COMPLIANCE' | 'GOVERNANCE'): Promise<void> {
    await this.s3.send(new PutObjectRetentionCommand({ Bucket: this.bucket, Key: key, Retention: { Mode: mode, RetainUntilDate: until } }));
  }

  async setLegalHold(key: string, on: boolean): Promise<void> {
    await this.s3.send(new PutObjectLegalHoldCommand({ Bucket: this.bucket, Key: key, LegalHold: { Status: on ? 'ON' : 'OFF' } }));
  }
}
