// An in-process S3 API server (s3rver) for the local stack and the tests. It speaks the real S3 REST
// protocol, so facesign's @aws-sdk/client-s3 code runs unchanged against it.
import { mkdir } from 'node:fs/promises';
import S3rver from 's3rver';

/** s3rver accepts exactly this key pair. */
export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

export interface S3ServerOptions {
  directory: string;
  buckets: string[];
  port?: number;
  host?: string;
}

export interface RunningS3Server {
  endpoint: string;
  port: number;
  stop(): Promise<void>;
}

export async function startS3Server(options: S3ServerOptions): Promise<RunningS3Server> {
  await mkdir(options.directory, { recursive: true });
  const host = options.host ?? '127.0.0.1';
  const server = new S3rver({
    address: host,
    port: options.port ?? 0,
    silent: true,
    directory: options.directory,
    vhostBuckets: false,
    configureBuckets: options.buckets.map((name) => ({ name })),
  });
  const address = await server.run();
  let stopped = false;
  return {
    endpoint: `http://${host}:${address.port}`,
    port: address.port,
    async stop() {
      if (stopped) return;
      stopped = true;
      await server.close();
    },
  };
}
