// The API's route table: every defineRoute declaration the express app mounts and the OpenAPI document
// describes. main.ts passes the services; dev/openapi-types.ts passes stand-ins, because declaring a
// route never calls its service, so the document (and the console's generated types) can be built
// without a database.
import type { Db } from '../db/client.js';
import type { RouteDefinition } from './route.js';
import { clientConfigRoutes, type ConsoleSettings } from './console-pages.js';
import { healthRoutes, type DependencyCheck, type ReadinessDetailPolicy } from '../health/health.routes.js';
import { authRoutes } from '../auth/auth.routes.js';
import type { AuthService } from '../auth/auth.service.js';
import type { ApiKeyService } from '../auth/api-keys.service.js';
import type { RateLimiter } from '../auth/rate-limiter.js';
import type { BorrowerLinks } from '../auth/borrower-links.service.js';
import { userRoutes } from '../users/users.routes.js';
import type { UserAdmin } from '../users/users.service.js';
import { loanFileRoutes } from '../loan-files/loan-files.routes.js';
import type { LoanFileService } from '../loan-files/loan-files.service.js';
import { contractRoutes } from '../loan-files/contracts.routes.js';
import type { ContractService } from '../loan-files/contracts.service.js';
import { losWebhookRoutes } from '../loan-files/los-webhooks.routes.js';
import type { LosWebhookService } from '../loan-files/los-webhooks.service.js';
import { checklistRoutes } from '../checklists/checklist.routes.js';
import type { ChecklistService } from '../checklists/checklist.service.js';
import { verificationRoutes } from '../verification/verification.routes.js';
import type { SchedulingService } from '../verification/scheduling.service.js';
import type { SessionEngine } from '../verification/session-engine.js';
import type { Dispatcher } from '../verification/dispatcher.js';
import { partyRoutes } from '../verification/party.routes.js';
import type { PartyJoinService } from '../verification/party-join.service.js';
import { partyContractRoutes, sessionContractRoutes } from '../verification/contract.routes.js';
import type { ContractPresentation } from '../verification/contract-presentation.service.js';
import { deskRoutes } from '../verification/desk.routes.js';
import type { DeskService } from '../verification/desk.service.js';
import { reviewRoutes } from '../reviews/reviews.routes.js';
import { evidenceRoutes } from '../../recordings/evidence.routes.js';
import type { ReviewService } from '../reviews/review.service.js';
import type { EvidenceService } from '../../recordings/evidence.service.js';
import type { EvidencePdfService } from '../../recordings/evidence-pdf.service.js';
import { reviewDeskRoutes } from '../reviews/review-desk.routes.js';
import type { ReviewDesk } from '../reviews/review-desk.service.js';
import { integrityRoutes } from '../../recordings/integrity.routes.js';
import type { IntegrityChecker } from '../../recordings/integrity.service.js';
import { retentionRoutes } from '../../recordings/retention.routes.js';
import type { RetentionService } from '../../recordings/retention.service.js';
import { playbackRoutes } from '../../recordings/playback.routes.js';
import type { PlaybackService } from '../../recordings/playback.service.js';
import { captureRoutes } from '../../recordings/captures.routes.js';
import type { CaptureService } from '../../recordings/captures.service.js';
import { faceMatchRoutes } from '../../recordings/face-match.routes.js';
import type { FaceMatchService } from '../../recordings/face-match.service.js';
import { livenessRoutes } from '../../recordings/liveness.routes.js';
import type { LivenessService } from '../../recordings/liveness.service.js';
import { operationsRoutes } from '../metrics/operations.routes.js';
import type { OperationsMetrics } from '../metrics/operations.service.js';
import { supervisionRoutes } from '../supervision/supervision.routes.js';
import type { SupervisionService } from '../supervision/supervision.service.js';
import { signingRoutes } from '../signing/signing.routes.js';
import type { Keyring } from '../signing/keyring.js';
import { auditRoutes } from '../audit/audit.routes.js';
import type { AuditLog } from '../audit/audit-log.service.js';

export interface ApiRouteServices {
  checks: DependencyCheck[];
  readinessPolicy: ReadinessDetailPolicy;
  auth: AuthService;
  apiKeys: ApiKeyService;
  db: Db;
  users: UserAdmin;
  loanFiles: LoanFileService;
  scheduling: SchedulingService;
  engine: SessionEngine;
  dispatcher: Dispatcher;
  checklists: ChecklistService;
  los: LosWebhookService;
  links: BorrowerLinks;
  partyJoin: PartyJoinService;
  limiter: RateLimiter;
  reviews: ReviewService;
  evidence: EvidenceService;
  evidencePdf: EvidencePdfService;
  integrity: IntegrityChecker;
  retention: RetentionService;
  playback: PlaybackService;
  captures: CaptureService;
  faceMatches: FaceMatchService;
  liveness: LivenessService;
  contracts: ContractService;
  contractPresentation: ContractPresentation;
  desk: DeskService;
  consoleSettings: ConsoleSettings;
  reviewDesk: ReviewDesk;
  operations: OperationsMetrics;
  supervision: SupervisionService;
  keyring: Keyring;
  auditLog: AuditLog;
}

export function apiRoutes(s: ApiRouteServices): RouteDefinition[] {
  return [
    ...healthRoutes(s.checks, s.readinessPolicy),
    ...authRoutes(s.auth, s.apiKeys, s.db),
    ...userRoutes(s.users, s.auth),
    ...loanFileRoutes(s.loanFiles),
    ...verificationRoutes(s.db, s.scheduling, s.engine, s.dispatcher),
    ...checklistRoutes(s.checklists),
    ...losWebhookRoutes(s.los),
    ...partyRoutes(s.links, s.partyJoin, s.limiter),
    ...evidenceRoutes(s.evidence, s.evidencePdf),
    ...reviewRoutes(s.reviews),
    ...integrityRoutes(s.integrity),
    ...retentionRoutes(s.retention),
    ...playbackRoutes(s.playback),
    ...captureRoutes(s.captures),
    ...faceMatchRoutes(s.faceMatches),
    ...livenessRoutes(s.liveness),
    ...contractRoutes(s.contracts),
    ...sessionContractRoutes(s.contractPresentation, s.contracts),
    ...partyContractRoutes(s.links, s.contractPresentation, s.contracts, s.limiter),
    ...deskRoutes(s.desk),
    ...clientConfigRoutes(s.consoleSettings),
    ...reviewDeskRoutes(s.reviewDesk),
    ...operationsRoutes(s.operations),
    ...supervisionRoutes(s.supervision),
    ...signingRoutes(s.keyring),
    ...auditRoutes(s.auditLog),
  ];
}
