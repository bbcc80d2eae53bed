// The pages' Content-Security-Policy: only this origin and LiveKit to connect to, and with presigned
// playback the object store as a media source (else the auditor's player could not load the recording).
import { describe, expect, it } from 'vitest';
import { objectStoreOrigins, pageCsp } from '../../server/http/console-pages.js';

const directive = (csp: string, name: string) => csp.split('; ').find((d) => d.startsWith(`${name} `));

describe('page CSP', () => {
  it('connects only to itself and to LiveKit over http(s) and ws(s)', () => {
    expect(directive(pageCsp('wss://lk.bank.example'), 'connect-src')).toBe("connect-src 'self' https://lk.bank.example wss://lk.bank.example");
    expect(directive(pageCsp('http://127.0.0.1:7880'), 'connect-src')).toBe("connect-src 'self' http://127.0.0.1:7880 ws://127.0.0.1:7880");
    expect(directive(pageCsp(undefined), 'connect-src')).toBe("connect-src 'self'");
    expect(directive(pageCsp(undefined), 'script-src')).toBe("script-src 'self'");
  });

  it('lets the player load presigned recordings from the object store, and nothing else', () => {
    expect(directive(pageCsp(undefined), 'media-src')).toBe("media-src 'self' blob:");
    const minio = objectStoreOrigins({ endpoint: 'https://s3.bank.example:9000', bucket: 'rec', region: 'us-east-1', forcePathStyle: true });
    expect(minio).toEqual(['https://s3.bank.example:9000']);
    expect(directive(pageCsp(undefined, minio), 'media-src')).toBe("media-src 'self' blob: https://s3.bank.example:9000");
    expect(objectStoreOrigins({ endpoint: 'https://r2.example.com', bucket: 'rec', region: 'auto', forcePathStyle: false })).toEqual(['https://rec.r2.example.com']);
    expect(objectStoreOrigins({ endpoint: undefined, bucket: 'rec', region: 'eu-central-1', forcePathStyle: false })).toEqual([
      'https://rec.s3.eu-central-1.amazonaws.com',
      'https://rec.s3.amazonaws.com',
    ]);
  });
});
