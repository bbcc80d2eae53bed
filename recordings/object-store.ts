// The S3-compatible object store that holds recordings (AWS S3, MinIO, Ceph RGW, R2; s3rver in dev).
import { HeadBucketCommand, S3Client } from '@aws-sdk/client-s3';
import type { Config } from '../server/config.js';

export type ObjectStoreSettings = Config['s3'];

export function createS3Client(settings: ObjectStoreSettings): S3Client {
  return new S3Client({
    region: settings.region,
    forcePathStyle: settings.forcePathStyle,
    ...(settings.endpoint ? { endpoint: settings.endpoint } : {}),
    ...(settings.accessKeyId && settings.secretAccessKey
      ? { credentials: { accessKeyId: settings.accessKeyId, secretAccessKey: settings.secretAccessKey } }
      : {}),
    maxAttempts: 2,
  });
}

export class RecordingStore {
  constructor(
    private readonly s3: S3Client,
    readonly bucket: string,
  ) {}

  /** Readiness: the bucket exists and our credentials reach it. */
  async ping(signal?: AbortSignal): Promise<void> {
    await this.s3.send(new HeadBucketCommand({ Bucket: this.bucket }), signal ? { abortSignal: signal } : {});
  }
}
