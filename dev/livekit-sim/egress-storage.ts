// Uploads a finished recording through the S3 API with exactly the settings of the egress request's
// S3Upload, as livekit/storage does (PutObject, ContentDisposition "inline" unless set, metadata, tagging).
import { readFile } from 'node:fs/promises';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { S3Upload } from '@livekit/protocol';
import type { MediaFixture } from './egress-files.js';

const fixtureCache = new Map<MediaFixture, Promise<Buffer>>();

export function loadFixture(name: MediaFixture): Promise<Buffer> {
  let cached = fixtureCache.get(name);
  if (cached === undefined) {
    cached = readFile(new URL(`./fixtures/${name}`, import.meta.url));
    fixtureCache.set(name, cached);
  }
  return cached;
}

export interface PutOptions {
  key: string;
  body: Buffer;
  contentType: string;
  /**
   * Sign with credentials storage does not know, so that storage itself refuses the PUT (fault
   * injection). The key id changes too: s3rver checks key ids but not SigV4 signatures.
   */
  revokedCredentials?: boolean;
}

export async function putToS3(upload: S3Upload, options: PutOptions): Promise<void> {
  const client = new S3Client({
    region: upload.region || 'us-east-1',
    ...(upload.endpoint === '' ? {} : { endpoint: upload.endpoint.startsWith('http') ? upload.endpoint : `https://${upload.endpoint}` }),
    forcePathStyle: upload.forcePathStyle,
    credentials: {
      accessKeyId: options.revokedCredentials === true ? `${upload.accessKey}REVOKED` : upload.accessKey,
      secretAccessKey: options.revokedCredentials === true ? `${upload.secret}REVOKED` : upload.secret,
      ...(upload.sessionToken === '' ? {} : { sessionToken: upload.sessionToken }),
    },
  });
  try {
    await client.send(
      new PutObjectCommand({
        Bucket: upload.bucket,
        Key: options.key,
        Body: options.body,
        ContentType: options.contentType,
        ContentDisposition: upload.contentDisposition || 'inline',
        ...(Object.keys(upload.metadata).length === 0 ? {} : { Metadata: { ...upload.metadata } }),
        ...(upload.tagging === '' ? {} : { Tagging: upload.tagging }),
      }),
    );
  } finally {
    client.destroy();
  }
}

export function describeS3Error(error: unknown): string {
  if (error instanceof Error) {
    const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    const prefix = status === undefined ? '' : `StatusCode: ${status}, `;
    return `${prefix}${error.name}: ${error.message}`;
  }
  return String(error);
}
