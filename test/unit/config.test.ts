import { describe, expect, it } from 'vitest';
import { allowedOrigins, ConfigError, loadConfig } from '../../server/config.js';

describe('loadConfig', () => {
  it('gives development defaults that point at local services', () => {
    const c = loadConfig({});
    expect(c.env).toBe('development');
    expect(c.http.port).toBe(3000);
    expect(c.database.url).toBe('postgresql://facesign_api@127.0.0.1:5432/facesign');
    expect(c.livekit).toBeUndefined();
    expect(c.auth.cookieSecure).toBe(false);
  });

  it('names every bad variable and why', () => {
    try {
      loadConfig({ PORT: 'eighty', LOG_LEVEL: 'loud', S3_BUCKET: 'Not_A_Bucket' });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      const problems = (error as ConfigError).problems.join('\n');
      expect(problems).toMatch(/^PORT: /m);
      expect(problems).toMatch(/^LOG_LEVEL: /m);
      expect(problems).toMatch(/^S3_BUCKET: not a valid S3 bucket name/m);
    }
  });

  it('requires the LiveKit settings together', () => {
    expect(() => loadConfig({ LIVEKIT_URL: 'http://localhost:7880' })).toThrow(/set all three or none/);
    const c = loadConfig({ LIVEKIT_URL: 'ws://lk:7880', LIVEKIT_API_KEY: 'k', LIVEKIT_API_SECRET: 's' });
    expect(c.livekit).toMatchObject({ url: 'ws://lk:7880', apiKey: 'k', apiSecret: 's', ringingTimeoutSeconds: 30, sipTrunkId: undefined });
  });

  it('admits the console from any loopback name of a loopback PUBLIC_URL outside production, and from PUBLIC_URL only in production', () => {
    expect(allowedOrigins('http://localhost:3000', 'development')).toEqual(['http://localhost:3000', 'http://127.0.0.1:3000', 'http://[::1]:3000']);
    expect(allowedOrigins('http://127.0.0.1:4100/', 'test')).toEqual(['http://localhost:4100', 'http://127.0.0.1:4100', 'http://[::1]:4100']);
    expect(allowedOrigins('https://verify.bank.example', 'development')).toEqual(['https://verify.bank.example']);
    expect(allowedOrigins('https://localhost', 'production')).toEqual(['https://localhost']);
    expect(loadConfig({}).http.allowedOrigins).toContain('http://127.0.0.1:3000');
  });

  it('keeps the ringing timeout inside the time livekit-server waits for an answer', () => {
    // livekit-server gives up on a waiting CreateSIPParticipant after 80 s, room join included.
    const lk = { LIVEKIT_URL: 'ws://lk:7880', LIVEKIT_API_KEY: 'k', LIVEKIT_API_SECRET: 's' };
    expect(loadConfig({ ...lk, SIP_RINGING_TIMEOUT_SECONDS: '60' }).livekit?.ringingTimeoutSeconds).toBe(60);
    expect(() => loadConfig({ ...lk, SIP_RINGING_TIMEOUT_SECONDS: '61' })).toThrow(/SIP_RINGING_TIMEOUT_SECONDS: Too big: expected number to be <=60/);
    expect(() => loadConfig({ ...lk, SIP_RINGING_TIMEOUT_SECONDS: '120' })).toThrow(ConfigError);
  });

  it('refuses development secrets and implicit local services in production', () => {
    const error = (() => {
      try {
        loadConfig({ NODE_ENV: 'production', PUBLIC_URL: 'http://x.test', LIVEKIT_URL: 'https://lk.test', LIVEKIT_API_KEY: 'devkey', LIVEKIT_API_SECRET: 'secret' });
      } catch (e) {
        return e as ConfigError;
      }
      throw new Error('expected a ConfigError');
    })();
    expect(error.problems).toEqual(
      expect.arrayContaining([
        'LIVEKIT_API_KEY: a development default is not allowed in production',
        'LIVEKIT_API_SECRET: a development default is not allowed in production',
        'DATABASE_URL: required in production',
        'REDIS_URL: required in production',
        'PUBLIC_URL: must be https in production',
      ]),
    );
  });

  it('accepts a complete production configuration with secure cookies', () => {
    const c = loadConfig({
      NODE_ENV: 'production',
      PUBLIC_URL: 'https://verify.bank.test',
      DATABASE_URL: 'postgresql://facesign@db/facesign',
      REDIS_URL: 'redis://cache:6379',
      LIVEKIT_URL: 'wss://lk.bank.test',
      LIVEKIT_API_KEY: 'APIabc',
      LIVEKIT_API_SECRET: 'a-long-random-secret',
      SIGNING_KEY_FILE: '/etc/facesign/signing-key.pem',
      SIGNING_CERT_FILE: '/etc/facesign/signing-cert.pem',
    });
    expect(c.auth.cookieSecure).toBe(true);
  });

  it('lets egress upload to the same bucket through its own endpoint and credentials', () => {
    const shared = loadConfig({ LIVEKIT_URL: 'ws://lk:7880', LIVEKIT_API_KEY: 'k', LIVEKIT_API_SECRET: 's', S3_ENDPOINT: 'http://minio:9000', S3_ACCESS_KEY_ID: 'a', S3_SECRET_ACCESS_KEY: 'b' });
    expect(shared.livekit!.egressStorage).toEqual({ endpoint: 'http://minio:9000', accessKeyId: 'a', secretAccessKey: 'b' });
    const own = loadConfig({ LIVEKIT_URL: 'ws://lk:7880', LIVEKIT_API_KEY: 'k', LIVEKIT_API_SECRET: 's', S3_ENDPOINT: 'http://minio:9000', EGRESS_S3_ENDPOINT: 'http://minio.internal:9000' });
    expect(own.livekit!.egressStorage.endpoint).toBe('http://minio.internal:9000');
  });

  it('splits the process roles', () => {
    expect(loadConfig({ FACESIGN_ROLES: 'worker' }).roles).toEqual({ api: false, worker: true });
    expect(() => loadConfig({ FACESIGN_ROLES: 'api,cron' })).toThrow(/FACESIGN_ROLES/);
  });

  it('opens up to 20 database connections per process unless DATABASE_POOL_SIZE says otherwise', () => {
    expect(loadConfig({ FACESIGN_ROLES: 'worker' }).database.poolSize).toBe(20);
    expect(loadConfig({ FACESIGN_ROLES: 'api' }).database.poolSize).toBe(20);
    expect(loadConfig({ FACESIGN_ROLES: 'worker', DATABASE_POOL_SIZE: '32' }).database.poolSize).toBe(32);
  });

  it('treats empty strings as unset', () => {
    expect(loadConfig({ PORT: '', S3_ENDPOINT: '' }).http.port).toBe(3000);
  });
});
