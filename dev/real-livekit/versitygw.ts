// A real S3 API with versioning and Object Lock on loopback: versitygw's posix backend, built by
// dev/real-livekit/install.sh. s3rver has neither, so retention against a WORM bucket is proven here.
//
//   const gw = await startVersityGw({ buckets: [{ name: 'facesign-worm', objectLock: true }] });
//   ... S3_ENDPOINT=gw.endpoint, S3_ACCESS_KEY_ID=gw.accessKeyId, ...
//   await gw.stop();
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateBucketCommand,
  GetBucketVersioningCommand,
  GetObjectLockConfigurationCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { realBinary } from './binaries.js';
import { freePortBlock, httpOk, startProcess, waitUntilReady, type Supervised } from './processes.js';

export interface VersityGwBucket {
  name: string;
  /** CreateBucket with ObjectLockEnabledForBucket (which also turns versioning on for the bucket). */
  objectLock?: boolean;
}

export interface VersityGwOptions {
  buckets: VersityGwBucket[];
  /** Keep the data, versions and log here instead of a temporary folder that is removed on stop. */
  workDir?: string;
  region?: string;
}

export interface RunningVersityGw {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  workDir: string;
  /** The gateway's process id, for CPU accounting (benches). */
  pid: number | undefined;
  /** The gateway's last log lines, for error messages. */
  logs(lines?: number): Promise<string>;
  stop(): Promise<void>;
}

const HEALTH_PATH = '/health';

export async function startVersityGw(options: VersityGwOptions): Promise<RunningVersityGw> {
  const workDir = options.workDir ?? (await mkdtemp(join(tmpdir(), 'facesign-versitygw-')));
  const dataDir = join(workDir, 'data');
  // Outside the data folder: versitygw would otherwise list it as a bucket.
  const versionsDir = join(workDir, 'versions');
  await mkdir(dataDir, { recursive: true });
  await mkdir(versionsDir, { recursive: true });
  const region = options.region ?? 'us-east-1';
  const port = await freePortBlock(1);
  const endpoint = `http://127.0.0.1:${port}`;
  const accessKeyId = `VGW${randomBytes(8).toString('hex').toUpperCase()}`;
  const secretAccessKey = randomBytes(30).toString('base64url');

  let gateway: Supervised | undefined;
  let client: S3Client | undefined;
  const stop = async () => {
    client?.destroy();
    await gateway?.stop();
    if (!options.workDir) await rm(workDir, { recursive: true, force: true });
  };

  try {
    gateway = startProcess(
      'versitygw',
      realBinary('versitygw'),
      // Its default listen address is ":7070", every interface: bind loopback only. No WebUI, admin
      // or website listener is started unless asked for, and none is.
      ['--port', `127.0.0.1:${port}`, '--region', region, '--health', HEALTH_PATH, '--quiet', 'posix', '--versioning-dir', versionsDir, dataDir],
      {
        logFile: join(workDir, 'versitygw.log'),
        // versitygw reads most of its settings from VGW_* and ROOT_* variables: give it only ours, so
        // nothing in the caller's environment changes what it serves. The keys go in the environment
        // rather than argv, where any local user could read them.
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: workDir, ROOT_ACCESS_KEY_ID: accessKeyId, ROOT_SECRET_ACCESS_KEY: secretAccessKey },
      },
    );
    const proc = gateway;
    await waitUntilReady(proc, () => httpOk(`${endpoint}${HEALTH_PATH}`));

    client = new S3Client({ region, endpoint, forcePathStyle: true, credentials: { accessKeyId, secretAccessKey }, maxAttempts: 1 });
    for (const bucket of options.buckets) await createBucket(client, bucket, proc);

    return {
      endpoint,
      region,
      accessKeyId,
      secretAccessKey,
      workDir,
      pid: proc.pid,
      logs: (lines) => proc.tail(lines),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Creates the bucket and checks the gateway really turned Object Lock and versioning on when asked. */
async function createBucket(client: S3Client, bucket: VersityGwBucket, proc: Supervised): Promise<void> {
  await client.send(new CreateBucketCommand({ Bucket: bucket.name, ...(bucket.objectLock ? { ObjectLockEnabledForBucket: true } : {}) }));
  if (!bucket.objectLock) return;
  const lock = await client.send(new GetObjectLockConfigurationCommand({ Bucket: bucket.name }));
  const versioning = await client.send(new GetBucketVersioningCommand({ Bucket: bucket.name }));
  if (lock.ObjectLockConfiguration?.ObjectLockEnabled !== 'Enabled' || versioning.Status !== 'Enabled') {
    throw new Error(
      `versitygw created bucket ${bucket.name} without Object Lock (lock ${lock.ObjectLockConfiguration?.ObjectLockEnabled ?? 'none'}, versioning ${versioning.Status ?? 'never enabled'}):\n${await proc.tail()}`,
    );
  }
}
