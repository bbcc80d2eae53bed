// The only wiring file: config -> clients -> services -> http. Tests build the same graph through
// createFacesign() with their own config; running this file starts a server.
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { Redis } from 'ioredis';
import type { DestinationStream } from 'pino';
import type { Express } from 'express';
import { ConfigError, loadConfig, type Config } from './config.js';
import { createLogger, logProcessFailures, type Logger } from './logging.js';
import { AuditSealer } from './audit/audit.sealer.js';
import { createDb, type Db } from './db/client.js';
import { checkDatabaseRole, DatabaseRoleError } from './db/roles.js';
import { answerClientError, createHttpApp } from './http/app.js';
import { clientConfigRoutes, consolePagesRouter, objectStoreOrigins } from './http/console-pages.js';
import { DeskService } from './verification/desk.service.js';
import { deskRoutes } from './verification/desk.routes.js';
import { AuthService } from './auth/auth.service.js';
import { ApiKeyService } from './auth/api-keys.service.js';
import { RateLimiter } from './auth/rate-limiter.js';
import { authRoutes } from './auth/auth.routes.js';
import { UserAdmin } from './users/users.service.js';
import { userRoutes } from './users/users.routes.js';
import { LoanFileService } from './loan-files/loan-files.service.js';
import { loanFileRoutes } from './loan-files/loan-files.routes.js';
import { healthRoutes, type DependencyCheck } from './health/readiness.js';
import { LiveKitPlatform, type VideoPlatform } from './livekit/video-platform.js';
import { eventJobId, LiveKitEventIntake, LiveKitEventProcessor, type LiveKitSignal } from './livekit/livekit-events.service.js';
import { LiveKitWebhookVerifier } from './livekit/webhook-verifier.js';
import { LiveKitReconciler } from './livekit/reconciler.js';
import { liveKitWebhookInterceptor } from './livekit/webhook.routes.js';
import { queueDashboardRouter } from './jobs/dashboard.routes.js';
import { JobQueues, startWorkers } from './jobs/queues.js';
import { jobCatalog } from './jobs/catalog.js';
import { createS3Client, RecordingStore } from '../recordings/object-store.js';
import { RecordingService } from '../recordings/recording.service.js';
import { finalizeJobId, RecordingFinalizer } from '../recordings/finalize.js';
import { IntegrityChecker } from '../recordings/integrity.js';
import { integrityRoutes } from '../recordings/integrity.routes.js';
import { RetentionService } from '../recordings/retention.service.js';
import { ContractRetention } from '../recordings/contract-retention.js';
import { retentionRoutes } from '../recordings/retention.routes.js';
import { PlaybackService } from '../recordings/playback.js';
import { playbackRoutes } from '../recordings/playback.routes.js';
import { CaptureService } from '../recordings/captures.js';
import { captureRoutes, captureUploadRouter } from '../recordings/captures.routes.js';
import { FaceMatcher } from '../recordings/face-matcher.js';
import { FaceMatchService } from '../recordings/face-match.js';
import { faceMatchRoutes } from '../recordings/face-match.routes.js';
import { LivenessService } from '../recordings/liveness.js';
import { livenessRoutes } from '../recordings/liveness.routes.js';
import type { UserPrincipal } from './auth/principal.js';
import { ContractService } from './loan-files/contracts.service.js';
import { contractRoutes, contractUploadRouter } from './loan-files/contracts.routes.js';
import { ContractPresentation } from './verification/contract-presentation.js';
import { partyContractRoutes, sessionContractRoutes } from './verification/contract.routes.js';
import { createRealtime, type Realtime } from './realtime/realtime.server.js';
import { PresenceService } from './realtime/presence.js';
import { LosWebhookService } from './loan-files/los-webhooks.js';
import { losWebhookRoutes } from './loan-files/los-webhooks.routes.js';
import { loadTemplateFiles, publishTemplates } from './checklists/templates.js';
import { ChecklistService } from './checklists/checklist.service.js';
import { checklistRoutes } from './checklists/checklist.routes.js';
import { SessionEngine } from './verification/session-engine.js';
import { Dispatcher } from './verification/dispatcher.js';
import { SessionJobs } from './verification/session-jobs.js';
import { SchedulingService } from './verification/scheduling.service.js';
import { verificationRoutes } from './verification/verification.routes.js';
import { PartyJoinService } from './verification/party-join.service.js';
import { partyRoutes } from './verification/party.routes.js';
import { BorrowerLinks } from './auth/borrower-links.js';
import { ReviewService } from '../recordings/review.service.js';
import { EvidenceService } from '../recordings/evidence.js';
import { EvidencePdfService } from '../recordings/evidence-pdf.js';
import { reviewRoutes } from './reviews/reviews.routes.js';
import { HttpNotifier, LogNotifier, type Notifier } from './notifications/notifier.js';
import { OperationsMetrics } from './metrics/operations.service.js';
import { operationsRoutes } from './metrics/operations.routes.js';
import { metricsRegistry, metricsRouter, workerMetricsRegistry } from './metrics/prometheus.js';
import { EventLag } from './metrics/event-lag.js';
import { ReviewDesk } from './review-desk/review-desk.service.js';
import { reviewDeskRoutes } from './review-desk/review-desk.routes.js';
import { DEFAULT_SUPERVISION_SETTINGS, SupervisionService } from './supervision/supervision.service.js';
import { AgentDepartures } from './supervision/agent-departures.js';
import { supervisionRoutes } from './supervision/supervision.routes.js';
import { alertOnFailedRecordings } from './supervision/supervisor-alerts.js';
import { loadSigningIdentity, type SigningIdentity } from './signing/signing-identity.js';
import { AuditCheckpoints } from './audit/checkpoint.js';
import { HttpTimestampAuthority } from './audit/tsa.js';
import { signingRoutes } from './signing/signing.routes.js';
import { AutomatedCalls } from './automated-calls/automated-call.service.js';
import type { CallRoomConnector } from './automated-calls/call-room.js';
import { RtcCallRoomConnector } from './automated-calls/rtc-call-room.js';
import { EspeakSynthesizer } from './automated-calls/speech.js';
import { EnergyVoiceDetector } from './automated-calls/speech-recognition.js';

export interface FacesignOptions {
  logDestination?: DestinationStream;
  /** The platform signing identity; by default loaded as configured (config.signing). */
  signing?: SigningIdentity;
  /** How automated calls join their rooms; by default LiveKit's real-time SDK (tests on the simulator pass its bot). */
  callRoomConnector?: CallRoomConnector;
}

export interface Facesign {
  config: Config;
  log: Logger;
  db: Db;
  redis: Redis;
  server: Server;
  /** The express application; its route table is what the OpenAPI document must describe. */
  app: Express;
  queues: JobQueues;
  /** The platform signer and the keyring of current and retired verification keys. */
  signing: SigningIdentity;
  /** Signed tree heads over the audit log, and inclusion proofs under them. */
  auditCheckpoints: AuditCheckpoints;
  realtime: Realtime;
  verification: { engine: SessionEngine; dispatcher: Dispatcher; jobs: SessionJobs; scheduling: SchedulingService; presence: PresenceService; departures: AgentDepartures; los: LosWebhookService; partyJoin: PartyJoinService };
  automatedCalls: AutomatedCalls;
  /** Present when LiveKit is configured. */
  livekit: { platform: VideoPlatform; processor: LiveKitEventProcessor; reconciler: LiveKitReconciler; recordings: RecordingService } | undefined;
  /** The lag of LiveKit events processed on this node (histogram on /metrics; listeners for benchmarks). */
  eventLag: EventLag;
  /** Subscribes to LiveKit-derived changes (after commit). */
  onLiveKitSignals(listener: (signals: LiveKitSignal[]) => Promise<void>): void;
  /** Starts listening; resolves with the base URL. */
  listen(): Promise<string>;
  /** Graceful: stop accepting, let in-flight requests finish (up to the grace period), close pools. */
  stop(): Promise<void>;
}

export async function createFacesign(config: Config, options: FacesignOptions = {}): Promise<Facesign> {
  const log = createLogger({ level: config.log.level, ...(options.logDestination ? { destination: options.logDestination } : {}) });
  const signing = options.signing ?? (await loadSigningIdentity(config.signing, config.env, log));
  const db = createDb(config.database);
  try {
    await checkDatabaseRole(db, config.env, log);
  } catch (error) {
    await db.$disconnect();
    throw error;
  }
  const auditSealer = new AuditSealer(db, log, config.audit.sealIntervalMs);
  auditSealer.start();
  const redis = new Redis(config.redis.url, { keyPrefix: `${config.redis.prefix}:`, maxRetriesPerRequest: 2, lazyConnect: true });
  redis.on('error', (err) => log.warn({ err }, 'redis connection error'));
  await redis.connect().catch((err: Error) => log.error({ err }, 'redis unreachable at start-up'));
  const s3 = createS3Client(config.s3);
  const recordingStore = new RecordingStore(s3, config.s3.bucket, config.recordings.sse);
  const auditCheckpoints = new AuditCheckpoints(db, recordingStore, signing.signer, {
    objectLockMode: config.recordings.objectLockMode,
    retentionYears: config.audit.headRetentionYears,
    tsa: config.audit.tsa.url ? new HttpTimestampAuthority(config.audit.tsa.url) : undefined,
  }, log);
  const contractRetention = new ContractRetention(db, recordingStore, { rules: config.recordings.retention, objectLockMode: config.recordings.objectLockMode }, log);
  const retention = new RetentionService(db, recordingStore, { rules: config.recordings.retention, objectLockMode: config.recordings.objectLockMode }, log, contractRetention);
  const videoPlatform = config.livekit
    ? new LiveKitPlatform(config.livekit, { bucket: config.s3.bucket, region: config.s3.region, forcePathStyle: config.s3.forcePathStyle })
    : undefined;
  const queues = new JobQueues({ redisUrl: config.redis.url, prefix: config.redis.prefix });

  const apiKeys = new ApiKeyService(db);
  const limiter = new RateLimiter(redis);
  const auth = new AuthService(db, limiter, apiKeys, config.auth);
  const loanFiles = new LoanFileService(db, config.recordings.retention);

  // Checklist versions are data in the repo; publishing is idempotent and safe on every node.
  await publishTemplates(db, await loadTemplateFiles());

  const signalListeners: ((signals: LiveKitSignal[]) => Promise<void>)[] = [];
  // Each listener is on its own: the event is already committed, so one failing must not keep the
  // others from hearing about it (the sweeper and reconciler repair what a failed listener missed).
  const emitSignals = async (signals: LiveKitSignal[]) => {
    for (const listener of signalListeners) {
      try {
        await listener(signals);
      } catch (error) {
        log.error({ err: error }, 'a LiveKit signal listener failed');
      }
    }
  };
  const eventLag = new EventLag();
  let livekit: Facesign['livekit'];
  let intake: LiveKitEventIntake | undefined;
  if (config.livekit && videoPlatform) {
    const processor = new LiveKitEventProcessor(db, emitSignals, eventLag);
    const recordings = new RecordingService(db, videoPlatform);
    const reconciler = new LiveKitReconciler(db, videoPlatform, processor, recordings, emitSignals, log);
    livekit = { platform: videoPlatform, processor, reconciler, recordings };
    intake = new LiveKitEventIntake(db, queues, new LiveKitWebhookVerifier(config.livekit.apiKey, config.livekit.apiSecret), log);
  }

  const presence = new PresenceService(redis);
  const los = new LosWebhookService(db, queues, config.losWebhook, log);
  // The realtime emitter is needed by the services, and the realtime server needs them back for
  // authorisation: build it first and hand it its callbacks.
  const callbacks: {
    canWatch: (userId: string, roles: string[], sessionId: string) => Promise<boolean>;
    presenceChanged: (userId: string, p: string) => Promise<void>;
    agentLeft: (userId: string, at: number) => Promise<void>;
    agentBack: (userId: string) => Promise<void>;
    partyConnected: (sessionId: string) => Promise<void>;
    contractPresent: (principal: UserPrincipal, sessionId: string, page: number, requestId: string) => Promise<void>;
    partyContractPage: (sessionId: string, page: number) => Promise<void>;
  } = {
    canWatch: async () => false,
    presenceChanged: async () => undefined,
    agentLeft: async () => undefined,
    agentBack: async () => undefined,
    partyConnected: async () => undefined,
    contractPresent: async () => undefined,
    partyContractPage: async () => undefined,
  };
  const v = config.verification;
  const links = new BorrowerLinks(db, v.otp);
  const realtime = createRealtime({
    redisUrl: config.redis.url,
    prefix: config.redis.prefix,
    allowedOrigins: config.http.allowedOrigins,
    log,
    auth,
    presence,
    canWatchSession: (principal, sessionId) => callbacks.canWatch(principal.userId, principal.roles, sessionId),
    onPresenceChanged: (userId, p) => callbacks.presenceChanged(userId, p),
    departureGraceMs: v.agentDisconnectGraceMs,
    onAgentLeft: (userId, at) => callbacks.agentLeft(userId, at),
    onAgentBack: (userId) => callbacks.agentBack(userId),
    authenticateParty: async (linkToken, partyToken) => (await links.authenticateParty(linkToken, partyToken)).session.id,
    onPartyConnected: (sessionId) => callbacks.partyConnected(sessionId),
    onContractPresent: (principal, sessionId, page, requestId) => callbacks.contractPresent(principal, sessionId, page, requestId),
    onPartyContractPage: (sessionId, page) => callbacks.partyContractPage(sessionId, page),
  });
  auth.onSessionsEnded = (loginSessionIds) => realtime.connections.endLoginSessions(loginSessionIds);
  const notifier: Notifier = config.notifier.kind === 'http' ? new HttpNotifier(config.notifier.url, config.notifier.token) : new LogNotifier(log, config.env !== 'production');
  const engine = new SessionEngine(db, queues, realtime.emitter, los, livekit ? { platform: livekit.platform, recordings: livekit.recordings } : undefined, { noShowTimeoutMs: v.noShowTimeoutMs }, log);
  const dispatcher = new Dispatcher(db, engine, presence, queues, realtime.emitter, videoPlatform, { offerTimeoutMs: v.offerTimeoutMs, callingHours: v.callingHours, livekitUrl: config.livekit ? config.console.livekitPublicUrl : undefined }, log);
  engine.onRoutingNeeded = async () => void (await dispatcher.fill());
  const partyJoin = new PartyJoinService(db, links, engine, dispatcher, queues, notifier, videoPlatform, {
    callingHours: v.callingHours,
    publicUrl: config.http.publicUrl,
    linkTtlMs: v.linkTtlMs,
    otpTtlMs: v.otp.ttlMs,
    livekitUrl: config.livekit ? config.console.livekitPublicUrl : undefined,
  }, log);
  const sessionJobs = new SessionJobs(db, engine, dispatcher, queues, videoPlatform, {
    callingHours: v.callingHours,
    reconnectGraceMs: v.reconnectGraceMs,
    workerLockMs: config.jobs.lockMs,
    ringingTimeoutMs: (config.livekit?.ringingTimeoutSeconds ?? 30) * 1000,
  }, log, partyJoin);
  const scheduling = new SchedulingService(db, engine, queues, { callingHours: v.callingHours, maxDialAttempts: v.maxDialAttempts }, partyJoin);
  const checklists = new ChecklistService(db, engine, realtime.emitter);
  // Automated confirmation calls: the script runs on worker nodes, in the call's LiveKit room.
  const callRooms = options.callRoomConnector ?? (config.livekit && config.console.media === 'livekit' ? new RtcCallRoomConnector(config.livekit.url.replace(/^http/, 'ws'), log) : undefined);
  const automatedCalls = new AutomatedCalls(
    db,
    engine,
    checklists,
    queues,
    videoPlatform && callRooms ? { platform: videoPlatform, connector: callRooms } : undefined,
    new EspeakSynthesizer(config.automatedCalls.tts),
    () => new EnergyVoiceDetector(),
    { answerTimeoutMs: config.automatedCalls.answerTimeoutMs, maxRepeats: config.automatedCalls.maxRepeats },
    log,
  );
  sessionJobs.onCallAnswered = (sessionId, attemptId) => automatedCalls.answered(sessionId, attemptId);
  const reviews = new ReviewService(db, config.recordings.review);
  const finalizer = new RecordingFinalizer(db, recordingStore, realtime.emitter, log);
  const integrity = new IntegrityChecker(db, recordingStore, realtime.emitter, log);
  const playback = new PlaybackService(db, recordingStore, config.recordings.playback);
  const evidence = new EvidenceService(db, signing.signer, auditCheckpoints);
  const evidencePdf = new EvidencePdfService(evidence, { fontPath: config.recordings.evidencePdfFont }, log, signing.signer);
  // The face-match model runs in a worker thread, started by the first comparison (on worker nodes).
  const faceMatcher = new FaceMatcher();
  const faceMatches = new FaceMatchService(db, recordingStore, faceMatcher, config.recordings.faceMatch, (faceMatchId, jobId) => queues.enqueue('face-match', { faceMatchId }, { jobId }), log);
  faceMatches.onCompleted = (match) =>
    realtime.emitter.toSessionWatchers(match.sessionId, 'face-match:changed', { v: 1, sessionId: match.sessionId, faceMatchId: match.id, status: match.status === 'FAILED' ? 'FAILED' : 'DONE' }, { andSupervisors: false });
  // The liveness check's landmarks come from the same worker thread as the face match.
  const liveness = new LivenessService(db, recordingStore, faceMatcher, config.recordings.liveness, (livenessCheckId, jobId) => queues.enqueue('liveness-check', { livenessCheckId }, { jobId }), log);
  liveness.onCompleted = (check) =>
    realtime.emitter.toSessionWatchers(check.sessionId, 'liveness:changed', { v: 1, sessionId: check.sessionId, livenessCheckId: check.id, status: check.status === 'FAILED' ? 'FAILED' : 'DONE' }, { andSupervisors: false });
  const captures = new CaptureService(db, recordingStore, { maxBytes: config.recordings.captureMaxBytes }, [faceMatches, liveness]);
  const contracts = new ContractService(db, recordingStore, { maxBytes: config.recordings.contractMaxBytes, fetch: config.recordings.contractFetch }, contractRetention);
  const contractPresentation = new ContractPresentation(db, redis, contracts, realtime.emitter);
  partyJoin.onSigned = (session) => contractPresentation.signed(session);
  // An uploaded recording is checked (size, SHA-256) by a job that retries until the store answers.
  signalListeners.push(async (signals) => {
    for (const signal of signals) {
      if (signal.kind === 'recording' && signal.state === 'UPLOADED') {
        await queues.enqueue('recording-finalize', { recordingId: signal.recordingId }, { jobId: finalizeJobId(signal.recordingId) });
      }
    }
  });
  // Retention counts from the loan's maturity: when the LOS changes it, recompute (retried by the queue).
  // The change is committed by then: if the queue cannot take the job, the hourly sweep catches up.
  loanFiles.onMaturityChanged = async (loanFileId, version) => {
    try {
      await queues.enqueue('retention-recompute', { loanFileId }, { jobId: `retention-recompute-${loanFileId}-v${version}` });
    } catch (error) {
      log.error({ loanFileId, err: error }, 'could not queue the retention recomputation; the retention sweep will');
    }
  };
  engine.onCompletedInTx = async (sql, session, loanFile) => void (await reviews.selectOnCompletion(sql, session, loanFile.amount));
  reviews.recapture = async (session, requestId) => {
    await scheduling.schedule(
      session.loanFileId,
      { partyId: session.partyId, kind: session.kind, templateKey: session.templateKey, priority: Math.min(100, session.priority + 10), contractDocumentHash: session.contractDocumentHash ?? undefined },
      { actor: { type: 'SYSTEM', id: 'review-recapture' }, requestId, scope: 'review-recapture' },
      undefined,
    );
  };
  signalListeners.push((signals) => sessionJobs.onLiveKitSignals(signals));
  signalListeners.push((signals) => alertOnFailedRecordings(db, realtime.emitter, signals));
  callbacks.canWatch = async (userId, roles, sessionId) => {
    if (roles.some((r) => r === 'SUPERVISOR' || r === 'ADMIN')) return true;
    const session = await db.verificationSession.findUnique({ where: { id: sessionId }, select: { assignedAgentId: true } });
    return session?.assignedAgentId === userId;
  };
  callbacks.contractPresent = async (principal, sessionId, page, requestId) => void (await contractPresentation.present(sessionId, page, principal, requestId));
  callbacks.partyContractPage = (sessionId, page) => contractPresentation.partyViewing(sessionId, page);
  callbacks.partyConnected = async (sessionId) => {
    const position = await dispatcher.waitingPosition(sessionId);
    if (position > 0) realtime.emitter.toParty(sessionId, 'waiting:position', { v: 1, position });
  };
  callbacks.presenceChanged = async (userId, p) => {
    const changed = { v: 1, agentId: userId, presence: p as 'available' | 'busy' | 'away' } as const;
    realtime.emitter.toSupervisors('presence:changed', changed);
    // The agent's other consoles (another tab) show it too.
    realtime.emitter.toAgent(userId, 'presence:changed', changed);
    if (p === 'available') await dispatcher.fill();
    else await dispatcher.withdrawFrom(userId);
  };

  const checks: DependencyCheck[] = [
    { name: 'postgres', required: true, check: async () => void (await db.$queryRaw`SELECT 1`) },
    { name: 'redis', required: true, check: async () => void (await redis.ping()) },
    { name: 'objectStorage', required: true, check: (signal) => recordingStore.ping(signal) },
    { name: 'livekit', required: Boolean(videoPlatform), check: videoPlatform ? () => videoPlatform.ping() : undefined },
    // Who keeps recordings from being deleted early: the object store (Object Lock) or facesign itself.
    { name: 'retention', required: false, check: async () => void (await retention.retentionStatus()), info: () => retention.retentionStatus() },
    // The evidence PDF embeds a CJK font; without it only the JSON manifest can be exported.
    { name: 'evidencePdfFont', required: false, check: () => evidencePdf.checkFont(), info: () => evidencePdf.fontInfo() },
  ];

  const operations = new OperationsMetrics(db);
  const departures = new AgentDepartures(db, presence, queues, realtime.emitter, realtime.isConnected, dispatcher, { graceMs: v.agentDisconnectGraceMs }, log);
  callbacks.agentLeft = (userId, at) => departures.left(userId, at);
  callbacks.agentBack = (userId) => departures.back(userId);
  const supervision = new SupervisionService(db, presence, async () => {
    const sockets = await realtime.io.of('/agent').fetchSockets();
    return new Set(sockets.flatMap((socket) => {
      const userId = (socket.data as { principal?: { userId?: unknown } }).principal?.userId;
      return typeof userId === 'string' ? [userId] : [];
    }));
  }, { ...DEFAULT_SUPERVISION_SETTINGS, disconnectGraceMs: v.agentDisconnectGraceMs });
  const consoleSettings = {
    dir: config.console.dir,
    media: config.console.media,
    livekitUrl: config.livekit ? config.console.livekitPublicUrl : undefined,
    mediaOrigins: config.recordings.playback.mode === 'presigned' ? objectStoreOrigins(config.s3) : [],
  };
  const app = createHttpApp({
    log,
    authenticator: auth,
    publicUrl: config.http.publicUrl,
    trustProxy: config.http.trustProxy,
    hsts: config.env === 'production',
    routes: [
      ...healthRoutes(checks, { env: config.env, metricsToken: config.metrics.token }),
      ...authRoutes(auth, apiKeys, db),
      ...userRoutes(new UserAdmin(db, realtime.connections), auth),
      ...loanFileRoutes(loanFiles),
      ...verificationRoutes(db, scheduling, engine, dispatcher),
      ...checklistRoutes(checklists),
      ...losWebhookRoutes(los),
      ...partyRoutes(links, partyJoin, limiter),
      ...reviewRoutes(reviews, evidence, evidencePdf),
      ...integrityRoutes(integrity),
      ...retentionRoutes(retention),
      ...playbackRoutes(playback),
      ...captureRoutes(captures),
      ...faceMatchRoutes(faceMatches),
      ...livenessRoutes(liveness),
      ...contractRoutes(contracts),
      ...sessionContractRoutes(contractPresentation, contracts),
      ...partyContractRoutes(links, contractPresentation, contracts, limiter),
      ...deskRoutes(new DeskService(db)),
      ...clientConfigRoutes(consoleSettings),
      ...reviewDeskRoutes(new ReviewDesk(db, checklists)),
      ...operationsRoutes(operations),
      ...supervisionRoutes(supervision),
      ...signingRoutes(signing.keyring),
    ],
    pages: consolePagesRouter(consoleSettings),
    rawRouters: [
      { path: '/admin/queues', router: queueDashboardRouter(queues, auth) },
      { path: '/metrics', router: metricsRouter(metricsRegistry(db, operations, { eventLag }), config.metrics.token) },
      // Snapshot uploads carry a raw image body; everything else under /api/sessions passes through.
      { path: '/api/sessions', router: captureUploadRouter(captures, auth) },
      // Contract uploads carry a raw PDF body; everything else under /api/loan-files passes through.
      { path: '/api/loan-files', router: contractUploadRouter(contracts, auth) },
    ],
  });

  const workers = config.roles.worker
    ? startWorkers(
        {
          redisUrl: config.redis.url,
          prefix: config.redis.prefix,
          concurrency: { 'livekit-event': 8, 'livekit-events': 4, 'livekit-reconcile': 1, 'session-dial': 8, 'los-webhook': 8, 'session-sweep': 1, 'recording-finalize': 2, 'recording-integrity': 2, 'recording-integrity-sample': 1, 'retention-sweep': 1, 'retention-recompute': 1, 'audit-checkpoint': 1, 'face-match': 1, 'liveness-check': 1, 'automated-call': config.automatedCalls.concurrency },
          limiter: { 'session-dial': { max: Math.max(1, Math.floor(v.dialRatePerSecond)), duration: Math.round(1000 * Math.max(1, Math.floor(v.dialRatePerSecond)) / v.dialRatePerSecond) } },
          lockMs: config.jobs.lockMs,
        },
        {
          'livekit-event': async ({ eventId }) => {
            await livekit?.processor.process(eventId);
          },
          'livekit-events': async ({ eventIds }) => {
            // A fresh job id for each hand-off: an earlier job for the same event may still be kept.
            await livekit?.processor.processBatch(eventIds, (eventId) => queues.enqueue('livekit-event', { eventId }, { jobId: `${eventJobId(eventId)}-${randomUUID().slice(0, 8)}`, delayMs: 1_000 }));
          },
          'livekit-reconcile': async () => {
            await livekit?.reconciler.runOnce();
          },
          'session-due': ({ sessionId }) => sessionJobs.due(sessionId),
          'session-dial': ({ sessionId, attemptId }, { attempt }) => sessionJobs.dial(sessionId, attemptId, new Date(), { finalTry: attempt >= jobCatalog['session-dial'].attempts }),
          'automated-call': async ({ sessionId, attemptId }) => void (await automatedCalls.run(sessionId, attemptId)),
          'session-no-show': ({ sessionId, version }) => sessionJobs.noShow(sessionId, version),
          'session-reconnect-grace': ({ sessionId, attemptId }) => sessionJobs.reconnectGrace(sessionId, attemptId),
          'agent-disconnect-grace': ({ agentId, leftAt }) => departures.graceOver(agentId, leftAt),
          'session-deadline': ({ sessionId }) => sessionJobs.deadline(sessionId),
          'offer-timeout': ({ offerId }) => dispatcher.expire(offerId),
          'session-reminder': ({ sessionId, reminder }) => partyJoin.remind(sessionId, reminder),
          'session-sweep': async () => {
            await sessionJobs.sweep();
            await automatedCalls.sweep();
            await los.sweep();
            for (const faceMatchId of await faceMatches.sweep()) {
              await queues.enqueue('face-match', { faceMatchId }, { jobId: `face-match-${faceMatchId}-sweep-${Math.floor(Date.now() / 600_000)}` });
            }
            for (const livenessCheckId of await liveness.sweep()) {
              await queues.enqueue('liveness-check', { livenessCheckId }, { jobId: `liveness-check-${livenessCheckId}-sweep-${Math.floor(Date.now() / 600_000)}` });
            }
            const now = Date.now();
            for (const recordingId of await finalizer.sweep()) {
              await queues.enqueue('recording-finalize', { recordingId }, { jobId: `${finalizeJobId(recordingId)}-sweep-${Math.floor(now / 600_000)}` });
            }
          },
          'recording-finalize': async ({ recordingId }) => {
            const result = await finalizer.finalize(recordingId);
            if (result.recording?.state === 'VERIFIED') await retention.retain(recordingId);
          },
          'recording-integrity': async ({ recordingId }) => void (await integrity.recheck(recordingId)),
          'recording-integrity-sample': async () => void (await integrity.sample(config.recordings.integrity.sampleSize)),
          'retention-recompute': async ({ loanFileId }) => {
            await retention.recomputeForLoanFile(loanFileId);
            await contractRetention.followLoanFile(loanFileId);
          },
          'retention-sweep': async () => {
            await retention.retainPending();
            await retention.recomputeRecentlyChanged();
            await retention.sweep();
            await contractRetention.sweep();
          },
          'audit-checkpoint': async () => void (await auditCheckpoints.checkpoint()),
          'face-match': ({ faceMatchId }, { attempt }) => faceMatches.run(faceMatchId, { finalTry: attempt >= jobCatalog['face-match'].attempts }),
          'liveness-check': ({ livenessCheckId }, { attempt }) => liveness.run(livenessCheckId, { finalTry: attempt >= jobCatalog['liveness-check'].attempts }),
          'los-webhook': async ({ deliveryId }) => {
            await los.deliver(deliveryId);
          },
        },
        log,
      )
    : undefined;
  let scheduleTimer: NodeJS.Timeout | undefined;
  if (workers) {
    const ensureSchedules = async (initial: boolean) => {
      const schedules: Promise<unknown>[] = [
        queues[initial ? 'schedule' : 'ensureScheduled']('session-sweep', config.jobs.reconcileIntervalMs, {}),
        queues[initial ? 'schedule' : 'ensureScheduled']('recording-integrity-sample', config.recordings.integrity.intervalMs, {}),
        queues[initial ? 'schedule' : 'ensureScheduled']('retention-sweep', 3_600_000, {}),
        queues[initial ? 'schedule' : 'ensureScheduled']('audit-checkpoint', config.audit.checkpointIntervalMs, {}),
      ];
      if (livekit) schedules.push(queues[initial ? 'schedule' : 'ensureScheduled']('livekit-reconcile', config.jobs.reconcileIntervalMs, {}));
      for (const outcome of await Promise.allSettled(schedules)) {
        if (outcome.status === 'rejected') log.error({ err: outcome.reason }, 'could not schedule a repeating job');
        else if (outcome.value === true) log.warn('a repeating job was missing from Redis and was scheduled again');
      }
    };
    await ensureSchedules(true);
    // Redis may come back empty (no persistence, failover): the sweeps that repair lost jobs must
    // not be lost with them.
    scheduleTimer = setInterval(() => void ensureSchedules(false), Math.min(60_000, Math.max(5_000, config.jobs.reconcileIntervalMs)));
    scheduleTimer.unref();
  }
  // The LiveKit webhook is answered before express (see webhook.routes.ts); everything else is express's.
  const interceptWebhook = liveKitWebhookInterceptor(intake, log, { hsts: config.env === 'production' });
  // A worker-only node listens for its probes (/healthz, /readyz) and its own event lag (/metrics)
  // alone: the API and the LiveKit webhook stay with the api role.
  const probesOnly = config.roles.api
    ? undefined
    : createHttpApp({
        log,
        authenticator: auth,
        publicUrl: config.http.publicUrl,
        trustProxy: config.http.trustProxy,
        hsts: config.env === 'production',
        routes: healthRoutes(checks, { env: config.env, metricsToken: config.metrics.token }),
        rawRouters: [{ path: '/metrics', router: metricsRouter(workerMetricsRegistry(eventLag), config.metrics.token) }],
      });
  const server = createServer((req, res) => {
    if (probesOnly) probesOnly(req, res);
    else if (!interceptWebhook(req, res)) app(req, res);
  });
  server.on('clientError', answerClientError);
  realtime.attach(server);

  let stopping: Promise<void> | undefined;
  return {
    config,
    log,
    db,
    redis,
    server,
    app,
    queues,
    signing,
    auditCheckpoints,
    realtime,
    verification: { engine, dispatcher, jobs: sessionJobs, scheduling, presence, departures, los, partyJoin },
    automatedCalls,
    livekit,
    eventLag,
    onLiveKitSignals: (listener) => void signalListeners.push(listener),
    listen: () =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(config.http.port, config.http.host, () => {
          const { port } = server.address() as AddressInfo;
          const host = config.http.host.includes(':') ? `[${config.http.host}]` : config.http.host;
          resolve(`http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`);
        });
      }),
    stop: () =>
      (stopping ??= (async () => {
        log.info('shutting down');
        // Read before close(): from then on `listening` is false, and nothing would be waited for.
        const listening = server.listening;
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        // The consoles' sockets are upgraded connections, which neither close() nor the force below ends.
        realtime.disconnectAll();
        // Requests in flight get the grace period; then their connections are closed, busy or not (a
        // client that keeps a keep-alive connection busy, like LiveKit with a backlog of webhooks,
        // would otherwise hold the shutdown forever).
        const force = setTimeout(() => server.closeAllConnections(), config.http.shutdownGraceMs);
        if (listening) await closed;
        clearTimeout(force);
        clearInterval(scheduleTimer);
        // Workers first: a job finishing during shutdown may still emit to sockets.
        await workers?.close();
        await faceMatcher.close();
        await realtime.close();
        await queues.close();
        await auditSealer.stop();
        // What was sealed since the last head gets one now, so a clean stop leaves nothing unanchored.
        // Bounded: an object store that stopped answering must not hold the shutdown for its timeouts.
        let checkpointTimer: NodeJS.Timeout | undefined;
        await Promise.race([
          auditCheckpoints.checkpoint().catch((err: unknown) => log.error({ err }, 'could not publish an audit tree head at shutdown')),
          new Promise<void>((resolve) => (checkpointTimer = setTimeout(() => {
            log.warn('no audit tree head published at shutdown: the object store did not answer in time');
            resolve();
          }, Math.max(1000, config.http.shutdownGraceMs)))),
        ]);
        clearTimeout(checkpointTimer);
        await Promise.allSettled([db.$disconnect(), redis.quit()]);
        s3.destroy();
        log.info('stopped');
      })()),
  };
}

async function run(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(78);
    }
    throw error;
  }
  const facesign = await createFacesign(config).catch((error: unknown) => {
    if (!(error instanceof DatabaseRoleError)) throw error;
    console.error(error.message);
    process.exit(78);
  });
  logProcessFailures(facesign.log);
  const url = await facesign.listen();
  if (config.roles.api) facesign.log.info({ url, env: config.env, roles: config.roles }, 'facesign listening');
  else facesign.log.info({ probes: url, env: config.env, roles: config.roles }, 'facesign worker running');
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      facesign.stop().then(
        () => process.exit(0),
        (err: unknown) => {
          facesign.log.error({ err }, 'shutdown failed');
          process.exit(1);
        },
      );
    });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await run();
}
