// compose.yaml, read as `docker compose` reads it: every image pinned, every facesign variable it sets
// known to server/config.ts, the set complete enough that production start-up accepts it, secrets
// only from the env file, and the LiveKit configs agreeing with facesign's routes and ports.
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfig } from '../../server/config.js';
import { LIVEKIT_WEBHOOK_PATH } from '../../server/livekit/webhook.routes.js';
import { configVariables, interpolate, isSecretVariable, repoFile, standIn, urlCredentials } from './deploy-support.js';

interface Service {
  image?: string;
  build?: unknown;
  command?: string | string[];
  environment?: Record<string, string | number | boolean | null>;
  depends_on?: Record<string, { condition: string }>;
  ports?: string[];
  healthcheck?: { test?: unknown; disable?: boolean };
  secrets?: string[];
  volumes?: string[];
}

const compose = parse(repoFile('compose.yaml'), { merge: true }) as { services: Record<string, Service>; secrets?: Record<string, { file: string }> };
const services = compose.services;
const facesignServices = Object.entries(services).filter(([, s]) => s.build !== undefined);
const envExample = Object.fromEntries(
  repoFile('deploy/compose/.env.example')
    .split('\n')
    .filter((line) => /^[A-Z][A-Z0-9_]*=/.test(line))
    .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
);

const envOf = (service: Service): Record<string, string> =>
  Object.fromEntries(Object.entries(service.environment ?? {}).map(([k, v]) => [k, v === null ? '' : String(v)]));

/** The environment a facesign container gets from an env file filled in by the operator. */
function filledIn(service: Service): Record<string, string> {
  return Object.fromEntries(Object.entries(envOf(service)).map(([k, v]) => [k, interpolate(v, (name) => envExample[name] || standIn(name))]));
}

describe('compose.yaml', () => {
  it('runs the api and worker roles and a one-shot migration from the one image it builds', () => {
    expect(facesignServices.map(([name]) => name).sort()).toEqual(['api', 'migrate', 'worker']);
    expect(envOf(services.api!).FACESIGN_ROLES).toBe('api');
    expect(envOf(services.worker!).FACESIGN_ROLES).toBe('worker');
    expect(services.migrate!.command).toEqual(['migrate']);
    expect(new Set(facesignServices.map(([, s]) => s.image)).size).toBe(1);
  });

  it('starts the app only after migrations and the Object Lock bucket completed, and its dependencies are healthy', () => {
    for (const name of ['api', 'worker']) {
      const deps = services[name]!.depends_on ?? {};
      expect(deps.migrate?.condition, name).toBe('service_completed_successfully');
      expect(deps['s3-bucket']?.condition, name).toBe('service_completed_successfully');
      expect(deps.redis?.condition, name).toBe('service_healthy');
    }
    expect(services.migrate!.depends_on?.postgres?.condition).toBe('service_healthy');
    expect(String(services['s3-bucket']!.command)).toContain('--object-lock-enabled-for-bucket');
    for (const name of ['postgres', 'redis', 's3', 'livekit', 'sip', 'egress']) expect(services[name]!.healthcheck?.test, name).toBeDefined();
  });

  it('pins every image it pulls to a version', () => {
    const pulled = Object.entries(services).filter(([, s]) => s.build === undefined);
    expect(pulled.length).toBeGreaterThanOrEqual(7);
    for (const [name, service] of pulled) {
      const image = service.image ?? '';
      expect(image, name).toMatch(/^[a-z0-9./_-]+(:v?\d+(\.\d+)+[A-Za-z0-9._-]*|@sha256:[a-f0-9]{64})$/);
      expect(image, name).not.toMatch(/:latest$/);
    }
    expect(services.livekit!.image).toMatch(/^livekit\/livekit-server:/);
    expect(services.sip!.image).toMatch(/^livekit\/sip:/);
    expect(services.egress!.image).toMatch(/^livekit\/egress:/);
  });

  it('sets only variables that server/config.ts defines', () => {
    for (const [name, service] of facesignServices) {
      const unknown = Object.keys(envOf(service)).filter((v) => !configVariables.has(v));
      expect(unknown, name).toEqual([]);
    }
  });

  it('leaves out nothing production start-up requires', () => {
    for (const [name, service] of facesignServices) {
      const env = filledIn(service);
      const config = loadConfig(env);
      expect(config.env, name).toBe('production');
      expect(config.livekit?.url, name).toBe('http://livekit:7880');
      expect(config.s3.accessKeyId, name).toBeDefined();
      expect(config.signing.key.kind, name).toBe('pem');
      expect(config.http.host, name).toBe('0.0.0.0');
    }
    // The check above is live: without its database or its signing key the same service is refused.
    const { DATABASE_URL: _db, ...withoutDatabase } = filledIn(services.api!);
    expect(() => loadConfig(withoutDatabase)).toThrow(/DATABASE_URL/);
    const { SIGNING_KEY_FILE: _key, SIGNING_CERT_FILE: _cert, ...withoutKey } = filledIn(services.api!);
    expect(() => loadConfig(withoutKey)).toThrow(/signing key is required/);
  });

  it('takes every secret from the env file or a secret file, never from compose.yaml itself', () => {
    const urlsWithPasswords: string[] = [];
    for (const [name, service] of Object.entries(services)) {
      for (const [variable, value] of Object.entries(envOf(service))) {
        if (isSecretVariable(variable)) expect(value, `${name}: ${variable}`).toMatch(/\$\{[A-Z0-9_]+/);
        const credentials = urlCredentials(value);
        if (credentials === undefined) continue;
        urlsWithPasswords.push(`${name}: ${variable}`);
        expect(credentials.slice(credentials.indexOf(':') + 1), `${name}: ${variable}'s password`).toMatch(/^\$\{[A-Z0-9_]+[^}]*\}$/);
      }
    }
    expect(urlsWithPasswords).toContain('api: DATABASE_URL');
    expect(urlsWithPasswords).toContain('migrate: MIGRATION_DATABASE_URL');
    for (const [name] of facesignServices) {
      const env = envOf(services[name]!);
      for (const variable of ['SIGNING_KEY_FILE', 'SIGNING_CERT_FILE']) {
        const secret = /^\/run\/secrets\/(.+)$/.exec(env[variable] ?? '')?.[1];
        expect(secret, `${name}: ${variable}`).toBeDefined();
        expect(services[name]!.secrets, name).toContain(secret);
        expect(compose.secrets?.[secret!]?.file).toMatch(/^\.\/deploy\/compose\/secrets\//);
      }
    }
  });

  it('documents every value it interpolates in deploy/compose/.env.example, with no secret filled in', () => {
    const interpolated = new Set([...repoFile('compose.yaml').matchAll(/\$\{([A-Z0-9_]+)/g)].map((m) => m[1]!));
    expect([...interpolated].filter((name) => !(name in envExample))).toEqual([]);
    const filledSecrets = Object.entries(envExample).filter(([name, value]) => isSecretVariable(name) && name !== 'LIVEKIT_API_KEY' && value !== '');
    expect(filledSecrets).toEqual([]);
  });
});

describe('deploy/compose LiveKit configs', () => {
  const livekit = parse(repoFile('deploy/compose/livekit.yaml')) as { port: number; webhook: { api_key: string; urls: string[] }; rtc: { tcp_port: number; udp_port: number } };
  const sip = parse(repoFile('deploy/compose/sip.yaml')) as { ws_url: string; rtp_port: string; sip_port: number; health_port: number };
  const egress = parse(repoFile('deploy/compose/egress.yaml')) as { ws_url: string; health_port: number };

  it('sends webhooks to the api service, signed with the key facesign is given', () => {
    const api = filledIn(services.api!);
    expect(livekit.webhook.urls).toEqual([`http://api:${api.PORT}${LIVEKIT_WEBHOOK_PATH}`]);
    expect(livekit.webhook.api_key).toBe(envExample.LIVEKIT_API_KEY);
    expect(envOf(services.livekit!).LIVEKIT_KEYS).toBe('${LIVEKIT_API_KEY:?set in deploy/compose/.env}: ${LIVEKIT_API_SECRET:?set in deploy/compose/.env}');
  });

  it('points SIP and egress at the LiveKit service, and publishes the ports the configs use', () => {
    expect(sip.ws_url).toBe(`ws://livekit:${livekit.port}`);
    expect(egress.ws_url).toBe(`ws://livekit:${livekit.port}`);
    expect(services.sip!.volumes).toContain('./deploy/compose/sip.yaml:/sip/config.yaml:ro');
    expect(services.sip!.ports).toContain(`${sip.rtp_port}:${sip.rtp_port}/udp`);
    expect(services.sip!.ports).toContain(`${sip.sip_port}:${sip.sip_port}/udp`);
    expect(services.livekit!.ports).toContain(`${livekit.rtc.udp_port}:${livekit.rtc.udp_port}/udp`);
    expect(services.livekit!.ports).toContain(`${livekit.rtc.tcp_port}:${livekit.rtc.tcp_port}/tcp`);
    expect(JSON.stringify(services.sip!.healthcheck?.test)).toContain(`/dev/tcp/127.0.0.1/${sip.health_port}`);
    expect(JSON.stringify(services.egress!.healthcheck?.test)).toContain(`127.0.0.1:${egress.health_port}/`);
  });
});
