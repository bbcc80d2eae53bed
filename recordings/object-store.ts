// The S3-compatible object store that holds recordings and captures (AWS S3, MinIO, Ceph RGW, R2;
// s3rver in dev). One small API over @aws-sdk/client-s3 for the whole recordings pipeline.
import type { Readable } from 'node:stream';
import {
  DeleteObjectCommand,
  GetBucketVersioningCommand,
  GetObjectCommand,
  GetObjectLockConfigurationCommand,
  GetObjectRetentionCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectVersionsCommand,
  ListObjectsV2Command,
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
    // Reads are not checksummed by the SDK. By default (WHEN_SUPPORTED) every GetObject asks for the
    // object's checksum and, when the store keeps one (AWS S3 does for objects uploaded with one), the
    // SDK computes a CRC over every byte it streams: for a recording, which finalize and the integrity
    // check hash anyway, that is the same bytes read twice. Facesign's own SHA-256 is the integrity
    // check: finalize records it, and the integrity check re-hashes the stored object and compares, so
    // a read that went wrong (over TLS, the transport already authenticates every byte) shows up as a
    // mismatch there rather than passing silently. Uploads keep the SDK's default checksums.
    responseChecksumValidation: 'WHEN_REQUIRED',
    // A store that stops answering must not hold a job forever: the socket may idle at most 30 s.
    requestHandler: { connectionTimeout: 5_000, requestTimeout: 30_000 },
  });
}

export interface ObjectHead {
  size: bigint;
  contentType: string | undefined;
}

/** One version (or delete marker) of a key in a versioned bucket. */
export interface ObjectVersion {
  versionId: string;
  deleteMarker: boolean;
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

  /** The whole object in memory (small objects only: signed tree heads, manifests); undefined when absent. */
  async getBytes(key: string): Promise<Buffer | undefined> {
    try {
      const res = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      if (!res.Body) throw new Error(`object ${key} has no body`);
      return Buffer.from(await res.Body.transformToByteArray());
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  /** Every key under `prefix`, in the store's (lexicographic) order, all pages. */
  async listKeys(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const res = await this.s3.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ...(token ? { ContinuationToken: token } : {}) }));
      for (const object of res.Contents ?? []) if (object.Key) keys.push(object.Key);
      token = res.IsTruncated ? res.NextContinuationToken : undefined;
    } while (token);
    return keys;
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

  /**
   * Removes the object for good. In a versioned bucket (every Object Lock bucket is one) a plain
   * DELETE only adds a delete marker and keeps the bytes, so each version and delete marker of the
   * key is deleted by its version id; Object Lock refuses that while a version is still retained,
   * and the error propagates. Throws if any version is left afterwards.
   */
  async delete(key: string): Promise<void> {
    if (!(await this.versioningEnabled())) {
      await this.deleteCurrent(key);
      return;
    }
    for (const version of await this.listVersions(key)) await this.deleteVersion(key, version.versionId);
    const left = await this.listVersions(key);
    if (left.length > 0) throw new Error(`object ${key} still has ${left.length} version(s) after deleting every version`);
  }

  /**
   * Whether the bucket keeps versions: enabled now, or suspended (old versions remain). A store
   * without versioning at all (s3rver says NotImplemented) keeps none.
   */
  async versioningEnabled(): Promise<boolean> {
    try {
      const res = await this.s3.send(new GetBucketVersioningCommand({ Bucket: this.bucket }));
      return res.Status === 'Enabled' || res.Status === 'Suspended';
    } catch (error) {
      if (error instanceof S3ServiceException && error.name === 'NotImplemented') return false;
      throw error;
    }
  }

  /** Every version and delete marker of exactly this key (a prefix listing, filtered), all pages. */
  async listVersions(key: string): Promise<ObjectVersion[]> {
    const out: ObjectVersion[] = [];
    let keyMarker: string | undefined;
    let versionIdMarker: string | undefined;
    for (;;) {
      const res = await this.s3.send(
        new ListObjectVersionsCommand({ Bucket: this.bucket, Prefix: key, ...(keyMarker ? { KeyMarker: keyMarker } : {}), ...(versionIdMarker ? { VersionIdMarker: versionIdMarker } : {}) }),
      );
      for (const v of res.Versions ?? []) if (v.Key === key && v.VersionId) out.push({ versionId: v.VersionId, deleteMarker: false });
      for (const m of res.DeleteMarkers ?? []) if (m.Key === key && m.VersionId) out.push({ versionId: m.VersionId, deleteMarker: true });
      if (!res.IsTruncated) return out;
      keyMarker = res.NextKeyMarker;
      versionIdMarker = res.NextVersionIdMarker;
    }
  }

  /** Every version and delete marker of every key under `prefix`, all pages. */
  async listVersionsUnder(prefix: string): Promise<Array<ObjectVersion & { key: string; isLatest: boolean }>> {
    const out: Array<ObjectVersion & { key: string; isLatest: boolean }> = [];
    let keyMarker: string | undefined;
    let versionIdMarker: string | undefined;
    for (;;) {
      const res = await this.s3.send(
        new ListObjectVersionsCommand({ Bucket: this.bucket, Prefix: prefix, ...(keyMarker ? { KeyMarker: keyMarker } : {}), ...(versionIdMarker ? { VersionIdMarker: versionIdMarker } : {}) }),
      );
      for (const v of res.Versions ?? []) if (v.Key && v.VersionId) out.push({ key: v.Key, versionId: v.VersionId, deleteMarker: false, isLatest: v.IsLatest === true });
      for (const m of res.DeleteMarkers ?? []) if (m.Key && m.VersionId) out.push({ key: m.Key, versionId: m.VersionId, deleteMarker: true, isLatest: m.IsLatest === true });
      if (!res.IsTruncated) return out;
      keyMarker = res.NextKeyMarker;
      versionIdMarker = res.NextVersionIdMarker;
    }
  }

  /** Deletes one version for good (never with a governance bypass: retention is never cut short). */
  async deleteVersion(key: string, versionId: string): Promise<void> {
    await this.s3.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key, VersionId: versionId }));
  }

  /** A plain DELETE: removes the object in an unversioned bucket (adds a delete marker in a versioned one). */
  async deleteCurrent(key: string): Promise<void> {
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

  /** The retention Object Lock holds the current version to; undefined when it holds none. */
  async getRetention(key: string): Promise<{ mode: 'COMPLIANCE' | 'GOVERNANCE'; until: Date } | undefined> {
    try {
      const res = await this.s3.send(new GetObjectRetentionCommand({ Bucket: this.bucket, Key: key }));
      const mode = res.Retention?.Mode;
      const until = res.Retention?.RetainUntilDate;
      return (mode === 'COMPLIANCE' || mode === 'GOVERNANCE') && until ? { mode, until } : undefined;
    } catch (error) {
      if (error instanceof S3ServiceException && error.name === 'NoSuchObjectLockConfiguration') return undefined;
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
