// Configuration is parsed once, at boot, from the environment. This is the only file that reads
// process.env: everything else receives a typed Config. Unknown or malformed values stop start-up
// with a message naming the variable; production refuses the development defaults for secrets.
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { MAX_RINGING_TIMEOUT_SECONDS } from './livekit/limits.js';
import type { LivenessThresholds } from '../recordings/liveness-check.js';

// The built console: `npm run build:console` writes agent-console/dist next to the sources (server/
// under tsx); `npm run build` writes dist/agent-console next to the compiled server (dist/server).
const DEFAULT_CONSOLE_DIR = fileURLToPath(new URL(import.meta.url.endsWith('.ts') ? '../agent-console/dist' : '../agent-console', import.meta.url));

const DEV_SECRETS = new Set(['secret', 'devkey', 'S3RVER', 'dev-webhook-secret', 'change-me']);

const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const url = z.url({ protocol: /^(https?|postgres(ql)?|rediss?|wss?)$/ });
/** A comma-separated list of host names or IP addresses, each optionally with `:port`; empty by default. */
const hostList = z
  .string()
  .default('')
  .transform((v) => v.split(',').map((h) => h.trim().toLowerCase()).filter(Boolean))
  .pipe(z.array(z.string().regex(/^(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(:\d{1,5})?$/, 'host names or IP addresses, each optionally with :port, separated by commas')));

// Exported for the deployment tests, which check every variable the manifests set against it.
export const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: int(0, 65535).default(3000),
  PUBLIC_URL: url.default('http://localhost:3000'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  TRUST_PROXY: z.string().default('loopback'),

  // The application's login role (a member of facesign_app); migrations connect as the owner instead.
  DATABASE_URL: url.default('postgresql://facesign_api@127.0.0.1:5432/facesign'),
  MIGRATION_DATABASE_URL: url.optional(),
  // A worker's LiveKit event lanes want up to 32 connections beside its jobs, an api node's burst of
  // acceptances one each: with 10, both queued (docs/operations.md, "Connection pools").
  DATABASE_POOL_SIZE: int(1, 200).default(20),
  REDIS_URL: url.default('redis://127.0.0.1:6379'),
  REDIS_PREFIX: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'letters, digits, _ . - only').default('facesign'),

  S3_ENDPOINT: url.optional(),
  S3_REGION: z.string().min(1).default('us-east-1'),
  S3_BUCKET: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'not a valid S3 bucket name').default('facesign-recordings'),
  S3_ACCESS_KEY_ID: z.string().min(1).optional(),
  S3_SECRET_ACCESS_KEY: z.string().min(1).optional(),
  S3_FORCE_PATH_STYLE: bool.default(false),

  LIVEKIT_URL: url.optional(),
  LIVEKIT_API_KEY: z.string().min(1).optional(),
  LIVEKIT_API_SECRET: z.string().min(1).optional(),
  LIVEKIT_SIP_TRUNK_ID: z.string().min(1).optional(),
  LIVEKIT_PUBLIC_URL: url.optional(),
  LIVEKIT_MEDIA: z.enum(['livekit', 'simulated']).default('livekit'),
  CONSOLE_DIR: z.string().min(1).optional(),
  METRICS_TOKEN: z.string().min(16, 'at least 16 characters').optional(),
  SIP_RINGING_TIMEOUT_SECONDS: int(5, MAX_RINGING_TIMEOUT_SECONDS).default(30),
  SIP_MAX_CALL_SECONDS: int(60, 4 * 3600).default(1800),
  SIP_CALL_STATUS_POLL_MS: int(10, 10_000).default(1000),
  ROOM_EMPTY_TIMEOUT_SECONDS: int(10, 3600).default(300),
  EGRESS_S3_ENDPOINT: url.optional(),
  EGRESS_S3_ACCESS_KEY_ID: z.string().min(1).optional(),
  EGRESS_S3_SECRET_ACCESS_KEY: z.string().min(1).optional(),
  RECONCILE_INTERVAL_SECONDS: int(1, 3600).default(30),
  WORKER_LOCK_SECONDS: int(1, 600).default(30),
  AUDIT_SEAL_INTERVAL_MS: int(10, 60_000).default(200),
  // Signed tree heads over the audit log: how often one node checkpoints what was sealed (and on shutdown).
  AUDIT_CHECKPOINT_SECONDS: int(1, 86_400).default(60),
  // Object Lock retention of published tree heads (in OBJECT_LOCK_MODE): as long as any evidence they vouch for.
  AUDIT_HEAD_RETENTION_YEARS: int(1, 100).default(30),
  // An RFC 3161 time-stamping authority stamping each head's signature; TSA_CERT_FILE is the TSA's
  // certificate (or its CA) that audit:verify checks the tokens against.
  TSA_URL: z.url({ protocol: /^https?$/ }).optional(),
  TSA_CERT_FILE: z.string().min(1).optional(),
  // The platform signing key: PEM key + certificate chain, or PKCS#12. Passphrases are secrets: never logged.
  SIGNING_KEY_FILE: z.string().min(1).optional(),
  SIGNING_KEY_PASSPHRASE: z.string().min(1).optional(),
  SIGNING_CERT_FILE: z.string().min(1).optional(),
  SIGNING_PKCS12_FILE: z.string().min(1).optional(),
  SIGNING_PKCS12_PASSPHRASE: z.string().optional(),
  // Certificates of retired signing keys (PEM bundle, each optionally preceded by "Retired-At: <ISO time>").
  SIGNING_RETIRED_CERTS_FILE: z.string().min(1).optional(),
  CALLING_HOURS: z
    .string()
    .regex(/^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-4]):[0-5]\d$/, 'HH:MM-HH:MM in the party\'s time zone')
    .default('09:00-20:00'),
  CALLING_DAYS: z
    .string()
    .regex(/^(MON|TUE|WED|THU|FRI|SAT|SUN)(,(MON|TUE|WED|THU|FRI|SAT|SUN))*$/, 'comma-separated MON..SUN')
    .default('MON,TUE,WED,THU,FRI,SAT'),
  HOLIDAYS: z
    .string()
    .regex(/^(\d{4}-\d{2}-\d{2})(,\d{4}-\d{2}-\d{2})*$/, 'comma-separated YYYY-MM-DD dates')
    .optional(),
  MAX_DIAL_ATTEMPTS: int(1, 20).default(3),
  DIAL_RATE_PER_SECOND: z.coerce.number().positive().max(1000).default(1),
  OFFER_TIMEOUT_SECONDS: int(5, 600).default(20),
  NO_SHOW_TIMEOUT_MINUTES: int(1, 240).default(15),
  RECONNECT_GRACE_SECONDS: int(5, 3600).default(60),
  AGENT_DISCONNECT_GRACE_SECONDS: int(1, 600).default(20),
  LINK_TTL_HOURS: int(1, 24 * 30).default(72),
  OTP_TTL_SECONDS: int(30, 3600).default(300),
  OTP_MAX_ATTEMPTS: int(1, 20).default(5),
  OTP_LOCK_MINUTES: int(1, 24 * 60).default(30),
  NOTIFIER: z.enum(['log', 'http']).default('log'),
  NOTIFIER_URL: url.optional(),
  NOTIFIER_TOKEN: z.string().min(1).optional(),
  LOS_WEBHOOK_URL: url.optional(),
  LOS_WEBHOOK_SECRET: z.string().min(16, 'at least 16 characters').optional(),
  RETENTION_YEARS_AFTER_MATURITY: int(0, 100).default(5),
  RETENTION_MONTHS_MIN_AFTER_MATURITY: int(0, 1200).default(6),
  RETENTION_YEARS_WITHOUT_MATURITY: int(1, 100).default(10),
  // The retention floor: a recording is kept at least this many months after it was verified,
  // whatever the loan's maturity date says (a date someone can set into the past). 36 by default:
  // three years, the general limitation period for civil claims in the PRC Civil Code (art. 188).
  // 0 (no floor) is refused in production; tests of Object Lock use it for locks that end in seconds.
  RETENTION_MONTHS_MIN_AFTER_VERIFICATION: int(0, 1200).default(36),
  OBJECT_LOCK_MODE: z.enum(['COMPLIANCE', 'GOVERNANCE', 'off']).default('COMPLIANCE'),
  S3_SSE: z.enum(['none', 'AES256', 'aws:kms']).default('none'),
  S3_SSE_KMS_KEY_ID: z.string().min(1).optional(),
  PLAYBACK_MODE: z.enum(['stream', 'presigned']).default('stream'),
  PRESIGNED_URL_TTL_SECONDS: int(30, 3600).default(300),
  AGENT_PLAYBACK_DAYS: int(0, 365).default(7),
  REVIEW_SAMPLE_PERCENT: int(0, 100).default(10),
  REVIEW_AMOUNT_THRESHOLD: z.string().regex(/^\d{1,16}(\.\d{1,2})?$/, 'a decimal amount such as 500000.00').optional(),
  INTEGRITY_SAMPLE_SIZE: int(0, 10_000).default(20),
  INTEGRITY_INTERVAL_HOURS: int(1, 24 * 30).default(24),
  CAPTURE_MAX_BYTES: int(1024, 50 * 1024 * 1024).default(5 * 1024 * 1024),
  CONTRACT_MAX_BYTES: int(1024, 100 * 1024 * 1024).default(20 * 1024 * 1024),
  // Contracts the LOS names by URL (POST /api/loan-files/:id/contract/fetch): the hosts facesign may
  // fetch from (empty: fetching is off), the ones among them it may reach over plain http, and the
  // ones that may resolve to private, loopback or link-local addresses.
  CONTRACT_FETCH_ALLOWED_HOSTS: hostList,
  CONTRACT_FETCH_HTTP_HOSTS: hostList,
  CONTRACT_FETCH_PRIVATE_HOSTS: hostList,
  CONTRACT_FETCH_CONNECT_TIMEOUT_MS: int(100, 60_000).default(5_000),
  CONTRACT_FETCH_TIMEOUT_MS: int(500, 600_000).default(60_000),
  EVIDENCE_PDF_FONT: z.string().min(1).default('/usr/share/fonts/truetype/wqy/wqy-microhei.ttc'),
  FACE_MATCH_ENABLED: bool.default(true),
  FACE_MATCH_MATCH_AT: z.coerce.number().min(0).max(1).default(0.6),
  FACE_MATCH_NO_MATCH_BELOW: z.coerce.number().min(0).max(1).default(0.4),
  LIVENESS_ENABLED: bool.default(true),
  LIVENESS_YAW_CHANGE_DEGREES: z.coerce.number().min(1).max(90).default(20),
  LIVENESS_PITCH_CHANGE: z.coerce.number().min(0.01).max(1).default(0.08),
  LIVENESS_EYES_CLOSED_BELOW: z.coerce.number().min(0).max(1).default(0.18),
  LIVENESS_EYES_OPEN_AT: z.coerce.number().min(0).max(1).default(0.24),
  LIVENESS_MOUTH_OPEN_AT: z.coerce.number().min(0).max(2).default(0.35),
  LIVENESS_MOUTH_CLOSED_BELOW: z.coerce.number().min(0).max(2).default(0.15),
  AUTOMATED_CALL_ANSWER_TIMEOUT_SECONDS: int(2, 120).default(8),
  AUTOMATED_CALL_MAX_REPEATS: int(0, 5).default(2),
  AUTOMATED_CALL_TTS_COMMAND: z.string().min(1).default('espeak-ng'),
  AUTOMATED_CALL_TTS_WORDS_PER_MINUTE: int(80, 400).default(175),
  AUTOMATED_CALL_CONCURRENCY: int(1, 200).default(4),
  AUTOMATED_CALL_RECORDING_WAIT_SECONDS: int(1, 120).default(20),
  FACESIGN_ROLES: z
    .string()
    .regex(/^(api|worker)(,(api|worker))*$/, 'a comma-separated list of api, worker')
    .default('api,worker'),

  SESSION_TTL_HOURS: int(1, 24 * 30).default(12),
  COOKIE_SECURE: bool.optional(),
  LOGIN_MAX_FAILURES: int(1, 100).default(5),
  LOGIN_CLIENT_MAX_FAILURES: int(1, 10_000).default(20),
  LOGIN_BACKOFF_SECONDS: int(1, 3600).default(30),
  // The longest wait the login backoff reaches (the name is older than the backoff).
  LOGIN_LOCKOUT_MINUTES: int(1, 24 * 60).default(15),
  LOGIN_RATE_PER_MINUTE: int(1, 10_000).default(30),
  LOGIN_SESSION_CACHE_SECONDS: int(0, 300).default(30),
  LOGIN_SESSION_CACHE_SIZE: int(0, 1_000_000).default(10_000),
  SHUTDOWN_GRACE_MS: int(0, 120_000).default(10_000),
});

export type Env = z.input<typeof envSchema>;

export interface Config {
  env: 'development' | 'test' | 'production';
  http: {
    host: string;
    port: number;
    publicUrl: string;
    /** Origins the console's sockets may come from: PUBLIC_URL's, and outside production its loopback twins. */
    allowedOrigins: string[];
    trustProxy: string;
    shutdownGraceMs: number;
  };
  log: { level: z.infer<typeof envSchema>['LOG_LEVEL'] };
  /** url: the application's role; migrationUrl: the owner's, for `npm run db:roles` (the server never uses it). */
  database: { url: string; poolSize: number; migrationUrl: string | undefined };
  redis: { url: string; prefix: string };
  s3: {
    endpoint: string | undefined;
    region: string;
    bucket: string;
    accessKeyId: string | undefined;
    secretAccessKey: string | undefined;
    forcePathStyle: boolean;
  };
  livekit:
    | {
        url: string;
        apiKey: string;
        apiSecret: string;
        sipTrunkId: string | undefined;
        ringingTimeoutSeconds: number;
        maxCallSeconds: number;
        /** How often a dial asks LiveKit how far the call got (LiveKit sends no webhook when it rings). */
        callStatusPollMs: number;
        roomEmptyTimeoutSeconds: number;
        /** Where LiveKit egress uploads recordings: our bucket, as egress reaches it. */
        egressStorage: { endpoint: string | undefined; accessKeyId: string | undefined; secretAccessKey: string | undefined };
      }
    | undefined;
  /**
   * lockMs: how long a job stays with a worker that stopped renewing its lock (crashed, killed)
   * before another worker takes it over; also how often workers look for such jobs.
   */
  jobs: { reconcileIntervalMs: number; lockMs: number };
  /** How often each node links newly committed audit events into the hash chain. */
  audit: {
    sealIntervalMs: number;
    checkpointIntervalMs: number;
    headRetentionYears: number;
    /** RFC 3161 timestamps on signed tree heads; certFile is what audit:verify trusts for them. */
    tsa: { url: string | undefined; certFile: string | undefined };
  };
  /** The platform signing identity; `ephemeral` (outside production only) generates a self-signed key at start. */
  signing: {
    key:
      | { kind: 'pem'; keyFile: string; certFile: string; passphrase: string | undefined }
      | { kind: 'pkcs12'; file: string; passphrase: string }
      | { kind: 'ephemeral' };
    retiredCertsFile: string | undefined;
  };
  verification: {
    callingHours: { start: string; end: string; days: number[]; holidays: string[] };
    maxDialAttempts: number;
    dialRatePerSecond: number;
    offerTimeoutMs: number;
    noShowTimeoutMs: number;
    reconnectGraceMs: number;
    /** How long an agent's consoles may all be gone (a reload, a network blip) before the agent counts as offline. */
    agentDisconnectGraceMs: number;
    linkTtlMs: number;
    otp: { ttlMs: number; maxAttempts: number; lockMs: number };
  };
  notifier: { kind: 'log' } | { kind: 'http'; url: string; token: string | undefined };
  losWebhook: { url: string; secret: string } | undefined;
  recordings: {
    retention: { yearsAfterMaturity: number; minMonthsAfterMaturity: number; yearsWithoutMaturity: number; minMonthsAfterVerification: number };
    objectLockMode: 'COMPLIANCE' | 'GOVERNANCE' | 'off';
    sse: { kind: 'none' } | { kind: 'AES256' } | { kind: 'aws:kms'; keyId: string | undefined };
    playback: { mode: 'stream' | 'presigned'; presignedTtlSeconds: number; agentDays: number };
    review: { samplePercent: number; amountThreshold: string | undefined };
    integrity: { sampleSize: number; intervalMs: number };
    captureMaxBytes: number;
    /** Largest contract PDF the LOS may upload. */
    contractMaxBytes: number;
    /** Fetching a contract the LOS names by URL; no allowed hosts: off. */
    contractFetch: { allowedHosts: string[]; httpHosts: string[]; privateHosts: string[]; connectTimeoutMs: number; timeoutMs: number };
    /** The TrueType collection (WenQuanYi Micro Hei) embedded in evidence PDFs, for zh-CN text. */
    evidencePdfFont: string;
    /** The face-match assist (ID_FRONT against FACE): similarity bands; the agent decides. */
    faceMatch: { enabled: boolean; thresholds: { matchAt: number; noMatchBelow: number } };
    /** The active-liveness assist (LIVENESS_BEFORE against LIVENESS_ACTION): landmark thresholds; the agent decides. */
    liveness: { enabled: boolean; thresholds: LivenessThresholds };
  };
  /** Automated confirmation calls (server/automated-calls): keypad timing and local text to speech. */
  automatedCalls: { answerTimeoutMs: number; maxRepeats: number; recordingWaitMs: number; tts: { command: string; wordsPerMinute: number }; concurrency: number };
  roles: { api: boolean; worker: boolean };
  /** GET /metrics: a bearer token for scrapers, or (unset) loopback clients only. */
  metrics: { token: string | undefined };
  /** The browser pages: where their built assets are and how they reach media. */
  console: {
    dir: string;
    /** 'simulated' when LiveKit is the dev simulator: pages join rooms through its control API, with no real media. */
    media: 'livekit' | 'simulated';
    /** LiveKit as browsers reach it (LIVEKIT_PUBLIC_URL, else LIVEKIT_URL); join grants carry it. */
    livekitPublicUrl: string | undefined;
  };
  auth: {
    sessionTtlMs: number;
    cookieSecure: boolean;
    loginMaxFailures: number;
    loginClientMaxFailures: number;
    loginBackoffMs: number;
    loginBackoffMaxMs: number;
    loginRatePerMinute: number;
    /** Login sessions kept in each process (0 turns the cache off) and for how long at most (revocations reach every node at once over Redis). */
    sessionCache: { maxEntries: number; ttlMs: number };
  };
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '[::1]'];

/**
 * PUBLIC_URL's origin. Outside production a loopback PUBLIC_URL also admits its other loopback names,
 * so a console opened at http://127.0.0.1:3000 works when PUBLIC_URL says http://localhost:3000.
 */
export function allowedOrigins(publicUrl: string, env: string): string[] {
  const url = new URL(publicUrl);
  if (env === 'production' || !LOOPBACK_NAMES.includes(url.hostname)) return [url.origin];
  return LOOPBACK_NAMES.map((name) => new URL(`${url.protocol}//${name}${url.port ? `:${url.port}` : ''}`).origin);
}

/**
 * Only the database settings, for the command-line tools that set up the database (roles, migrations):
 * a migration job needs no signing key, object store or LiveKit settings. In production DATABASE_URL
 * must be set, as for the server.
 */
/** `users:create-admin`'s initial password: read from the environment so it is on no command line. */
export function adminBootstrapPassword(source: Record<string, string | undefined> = process.env): string {
  return source.FACESIGN_ADMIN_PASSWORD ?? '';
}

export function loadDatabaseConfig(source: Record<string, string | undefined> = process.env): Config['database'] {
  const raw = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = envSchema.pick({ NODE_ENV: true, DATABASE_URL: true, DATABASE_POOL_SIZE: true, MIGRATION_DATABASE_URL: true }).safeParse(raw);
  if (!parsed.success) throw new ConfigError(parsed.error.issues.map((i) => `${String(i.path[0] ?? '?')}: ${i.message}`));
  const e = parsed.data;
  if (e.NODE_ENV === 'production' && !raw.DATABASE_URL) throw new ConfigError(['DATABASE_URL: required in production']);
  return { url: e.DATABASE_URL, poolSize: e.DATABASE_POOL_SIZE, migrationUrl: e.MIGRATION_DATABASE_URL };
}

export function loadConfig(source: Record<string, string | undefined> = process.env): Config {
  // Empty strings mean "unset": shells and .env files produce them for blank values.
  const raw = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = envSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${String(i.path[0] ?? '?')}: ${i.message}`));
  }
  const e = parsed.data;
  const problems: string[] = [];

  const livekitVars = [e.LIVEKIT_URL, e.LIVEKIT_API_KEY, e.LIVEKIT_API_SECRET];
  if (livekitVars.some(Boolean) && !livekitVars.every(Boolean)) {
    problems.push('LIVEKIT_URL, LIVEKIT_API_KEY, LIVEKIT_API_SECRET: set all three or none');
  }
  if (e.S3_SSE === 'aws:kms' && !e.S3_SSE_KMS_KEY_ID) problems.push('S3_SSE_KMS_KEY_ID: required when S3_SSE=aws:kms');
  if (e.NOTIFIER === 'http' && !e.NOTIFIER_URL) problems.push('NOTIFIER_URL: required when NOTIFIER=http');
  if (Boolean(e.LOS_WEBHOOK_URL) !== Boolean(e.LOS_WEBHOOK_SECRET)) problems.push('LOS_WEBHOOK_URL, LOS_WEBHOOK_SECRET: set both or neither');
  for (const name of ['CONTRACT_FETCH_HTTP_HOSTS', 'CONTRACT_FETCH_PRIVATE_HOSTS'] as const) {
    const outside = e[name].filter((h) => !e.CONTRACT_FETCH_ALLOWED_HOSTS.includes(h));
    if (outside.length > 0) problems.push(`${name}: ${outside.join(', ')} not in CONTRACT_FETCH_ALLOWED_HOSTS`);
  }
  if (e.CONTRACT_FETCH_CONNECT_TIMEOUT_MS > e.CONTRACT_FETCH_TIMEOUT_MS) problems.push('CONTRACT_FETCH_CONNECT_TIMEOUT_MS: must not be above CONTRACT_FETCH_TIMEOUT_MS');
  if (e.FACE_MATCH_NO_MATCH_BELOW > e.FACE_MATCH_MATCH_AT) problems.push('FACE_MATCH_NO_MATCH_BELOW: must not be above FACE_MATCH_MATCH_AT');
  if (e.LIVENESS_EYES_CLOSED_BELOW > e.LIVENESS_EYES_OPEN_AT) problems.push('LIVENESS_EYES_CLOSED_BELOW: must not be above LIVENESS_EYES_OPEN_AT');
  if (e.LIVENESS_MOUTH_CLOSED_BELOW > e.LIVENESS_MOUTH_OPEN_AT) problems.push('LIVENESS_MOUTH_CLOSED_BELOW: must not be above LIVENESS_MOUTH_OPEN_AT');
  const [hoursStart = '09:00', hoursEnd = '20:00'] = e.CALLING_HOURS.split('-');
  if (hoursStart >= hoursEnd) problems.push('CALLING_HOURS: the window must end after it starts');
  if (Boolean(e.S3_ACCESS_KEY_ID) !== Boolean(e.S3_SECRET_ACCESS_KEY)) {
    problems.push('S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY: set both or neither');
  }
  if (e.NODE_ENV === 'production') {
    for (const name of ['LIVEKIT_API_KEY', 'LIVEKIT_API_SECRET', 'S3_ACCESS_KEY_ID', 'S3_SECRET_ACCESS_KEY', 'EGRESS_S3_ACCESS_KEY_ID', 'EGRESS_S3_SECRET_ACCESS_KEY'] as const) {
      const value = e[name];
      if (value && DEV_SECRETS.has(value)) problems.push(`${name}: a development default is not allowed in production`);
    }
    if (!source.DATABASE_URL) problems.push('DATABASE_URL: required in production');
    if (!source.REDIS_URL) problems.push('REDIS_URL: required in production');
    if (!e.PUBLIC_URL.startsWith('https://')) problems.push('PUBLIC_URL: must be https in production');
    if (e.RETENTION_MONTHS_MIN_AFTER_VERIFICATION === 0) problems.push('RETENTION_MONTHS_MIN_AFTER_VERIFICATION: must be at least 1 in production (recordings would become deletable the moment they are verified)');
  }
  if (Boolean(e.SIGNING_KEY_FILE) !== Boolean(e.SIGNING_CERT_FILE)) problems.push('SIGNING_KEY_FILE, SIGNING_CERT_FILE: set both or neither');
  if (e.SIGNING_KEY_FILE && e.SIGNING_PKCS12_FILE) problems.push('SIGNING_KEY_FILE, SIGNING_PKCS12_FILE: configure the signing key one way, not both');
  if (e.NODE_ENV === 'production' && !e.SIGNING_KEY_FILE && !e.SIGNING_PKCS12_FILE) {
    problems.push('SIGNING_KEY_FILE and SIGNING_CERT_FILE, or SIGNING_PKCS12_FILE (with SIGNING_PKCS12_PASSPHRASE): a signing key is required in production');
  }
  if (problems.length > 0) throw new ConfigError(problems);

  return {
    env: e.NODE_ENV,
    http: {
      host: e.HOST,
      port: e.PORT,
      publicUrl: e.PUBLIC_URL.replace(/\/$/, ''),
      allowedOrigins: allowedOrigins(e.PUBLIC_URL, e.NODE_ENV),
      trustProxy: e.TRUST_PROXY,
      shutdownGraceMs: e.SHUTDOWN_GRACE_MS,
    },
    log: { level: e.LOG_LEVEL },
    database: { url: e.DATABASE_URL, poolSize: e.DATABASE_POOL_SIZE, migrationUrl: e.MIGRATION_DATABASE_URL },
    redis: { url: e.REDIS_URL, prefix: e.REDIS_PREFIX },
    s3: {
      endpoint: e.S3_ENDPOINT,
      region: e.S3_REGION,
      bucket: e.S3_BUCKET,
      accessKeyId: e.S3_ACCESS_KEY_ID,
      secretAccessKey: e.S3_SECRET_ACCESS_KEY,
      forcePathStyle: e.S3_FORCE_PATH_STYLE,
    },
    livekit: e.LIVEKIT_URL && e.LIVEKIT_API_KEY && e.LIVEKIT_API_SECRET
      ? {
          url: e.LIVEKIT_URL,
          apiKey: e.LIVEKIT_API_KEY,
          apiSecret: e.LIVEKIT_API_SECRET,
          sipTrunkId: e.LIVEKIT_SIP_TRUNK_ID,
          ringingTimeoutSeconds: e.SIP_RINGING_TIMEOUT_SECONDS,
          maxCallSeconds: e.SIP_MAX_CALL_SECONDS,
          callStatusPollMs: e.SIP_CALL_STATUS_POLL_MS,
          roomEmptyTimeoutSeconds: e.ROOM_EMPTY_TIMEOUT_SECONDS,
          egressStorage: {
            endpoint: e.EGRESS_S3_ENDPOINT ?? e.S3_ENDPOINT,
            accessKeyId: e.EGRESS_S3_ACCESS_KEY_ID ?? e.S3_ACCESS_KEY_ID,
            secretAccessKey: e.EGRESS_S3_SECRET_ACCESS_KEY ?? e.S3_SECRET_ACCESS_KEY,
          },
        }
      : undefined,
    jobs: { reconcileIntervalMs: e.RECONCILE_INTERVAL_SECONDS * 1000, lockMs: e.WORKER_LOCK_SECONDS * 1000 },
    audit: {
      sealIntervalMs: e.AUDIT_SEAL_INTERVAL_MS,
      checkpointIntervalMs: e.AUDIT_CHECKPOINT_SECONDS * 1000,
      headRetentionYears: e.AUDIT_HEAD_RETENTION_YEARS,
      tsa: { url: e.TSA_URL, certFile: e.TSA_CERT_FILE },
    },
    signing: {
      key: e.SIGNING_KEY_FILE && e.SIGNING_CERT_FILE
        ? { kind: 'pem', keyFile: e.SIGNING_KEY_FILE, certFile: e.SIGNING_CERT_FILE, passphrase: e.SIGNING_KEY_PASSPHRASE }
        : e.SIGNING_PKCS12_FILE
          ? { kind: 'pkcs12', file: e.SIGNING_PKCS12_FILE, passphrase: e.SIGNING_PKCS12_PASSPHRASE ?? '' }
          : { kind: 'ephemeral' },
      retiredCertsFile: e.SIGNING_RETIRED_CERTS_FILE,
    },
    verification: {
      callingHours: {
        start: hoursStart,
        end: hoursEnd,
        days: e.CALLING_DAYS.split(',').map((d) => ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'].indexOf(d)),
        holidays: e.HOLIDAYS ? e.HOLIDAYS.split(',') : [],
      },
      maxDialAttempts: e.MAX_DIAL_ATTEMPTS,
      dialRatePerSecond: e.DIAL_RATE_PER_SECOND,
      offerTimeoutMs: e.OFFER_TIMEOUT_SECONDS * 1000,
      noShowTimeoutMs: e.NO_SHOW_TIMEOUT_MINUTES * 60_000,
      reconnectGraceMs: e.RECONNECT_GRACE_SECONDS * 1000,
      agentDisconnectGraceMs: e.AGENT_DISCONNECT_GRACE_SECONDS * 1000,
      linkTtlMs: e.LINK_TTL_HOURS * 3_600_000,
      otp: { ttlMs: e.OTP_TTL_SECONDS * 1000, maxAttempts: e.OTP_MAX_ATTEMPTS, lockMs: e.OTP_LOCK_MINUTES * 60_000 },
    },
    notifier: e.NOTIFIER === 'http' && e.NOTIFIER_URL ? { kind: 'http', url: e.NOTIFIER_URL, token: e.NOTIFIER_TOKEN } : { kind: 'log' },
    losWebhook: e.LOS_WEBHOOK_URL && e.LOS_WEBHOOK_SECRET ? { url: e.LOS_WEBHOOK_URL, secret: e.LOS_WEBHOOK_SECRET } : undefined,
    recordings: {
      retention: {
        yearsAfterMaturity: e.RETENTION_YEARS_AFTER_MATURITY,
        minMonthsAfterMaturity: e.RETENTION_MONTHS_MIN_AFTER_MATURITY,
        yearsWithoutMaturity: e.RETENTION_YEARS_WITHOUT_MATURITY,
        minMonthsAfterVerification: e.RETENTION_MONTHS_MIN_AFTER_VERIFICATION,
      },
      objectLockMode: e.OBJECT_LOCK_MODE,
      sse: e.S3_SSE === 'aws:kms' ? { kind: 'aws:kms', keyId: e.S3_SSE_KMS_KEY_ID } : e.S3_SSE === 'AES256' ? { kind: 'AES256' } : { kind: 'none' },
      playback: { mode: e.PLAYBACK_MODE, presignedTtlSeconds: e.PRESIGNED_URL_TTL_SECONDS, agentDays: e.AGENT_PLAYBACK_DAYS },
      review: { samplePercent: e.REVIEW_SAMPLE_PERCENT, amountThreshold: e.REVIEW_AMOUNT_THRESHOLD },
      integrity: { sampleSize: e.INTEGRITY_SAMPLE_SIZE, intervalMs: e.INTEGRITY_INTERVAL_HOURS * 3_600_000 },
      captureMaxBytes: e.CAPTURE_MAX_BYTES,
      contractMaxBytes: e.CONTRACT_MAX_BYTES,
      contractFetch: {
        allowedHosts: e.CONTRACT_FETCH_ALLOWED_HOSTS,
        httpHosts: e.CONTRACT_FETCH_HTTP_HOSTS,
        privateHosts: e.CONTRACT_FETCH_PRIVATE_HOSTS,
        connectTimeoutMs: e.CONTRACT_FETCH_CONNECT_TIMEOUT_MS,
        timeoutMs: e.CONTRACT_FETCH_TIMEOUT_MS,
      },
      evidencePdfFont: e.EVIDENCE_PDF_FONT,
      faceMatch: { enabled: e.FACE_MATCH_ENABLED, thresholds: { matchAt: e.FACE_MATCH_MATCH_AT, noMatchBelow: e.FACE_MATCH_NO_MATCH_BELOW } },
      liveness: {
        enabled: e.LIVENESS_ENABLED,
        thresholds: {
          yawChangeDeg: e.LIVENESS_YAW_CHANGE_DEGREES,
          pitchChange: e.LIVENESS_PITCH_CHANGE,
          eyesClosedBelow: e.LIVENESS_EYES_CLOSED_BELOW,
          eyesOpenAt: e.LIVENESS_EYES_OPEN_AT,
          mouthOpenAt: e.LIVENESS_MOUTH_OPEN_AT,
          mouthClosedBelow: e.LIVENESS_MOUTH_CLOSED_BELOW,
        },
      },
    },
    automatedCalls: {
      answerTimeoutMs: e.AUTOMATED_CALL_ANSWER_TIMEOUT_SECONDS * 1000,
      maxRepeats: e.AUTOMATED_CALL_MAX_REPEATS,
      recordingWaitMs: e.AUTOMATED_CALL_RECORDING_WAIT_SECONDS * 1000,
      tts: { command: e.AUTOMATED_CALL_TTS_COMMAND, wordsPerMinute: e.AUTOMATED_CALL_TTS_WORDS_PER_MINUTE },
      concurrency: e.AUTOMATED_CALL_CONCURRENCY,
    },
    console: {
      dir: e.CONSOLE_DIR ?? DEFAULT_CONSOLE_DIR,
      media: e.LIVEKIT_MEDIA,
      livekitPublicUrl: e.LIVEKIT_PUBLIC_URL ?? e.LIVEKIT_URL,
    },
    metrics: { token: e.METRICS_TOKEN },
    roles: { api: e.FACESIGN_ROLES.split(',').includes('api'), worker: e.FACESIGN_ROLES.split(',').includes('worker') },
    auth: {
      sessionTtlMs: e.SESSION_TTL_HOURS * 3_600_000,
      cookieSecure: e.COOKIE_SECURE ?? e.NODE_ENV === 'production',
      loginMaxFailures: e.LOGIN_MAX_FAILURES,
      loginClientMaxFailures: e.LOGIN_CLIENT_MAX_FAILURES,
      loginBackoffMs: e.LOGIN_BACKOFF_SECONDS * 1000,
      loginBackoffMaxMs: e.LOGIN_LOCKOUT_MINUTES * 60_000,
      loginRatePerMinute: e.LOGIN_RATE_PER_MINUTE,
      sessionCache: { maxEntries: e.LOGIN_SESSION_CACHE_SIZE, ttlMs: e.LOGIN_SESSION_CACHE_SECONDS * 1000 },
    },
  };
}
