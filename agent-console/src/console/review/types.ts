// Shapes of the review desk API (server/review-desk/review-desk.routes.ts) as this page uses them.
import type { ProductName } from '../../shared/labels';

export type ReviewStatus = 'PENDING' | 'APPROVED' | 'RECAPTURE' | 'REJECTED';

export interface SessionRow {
  id: string;
  kind: 'CALL' | 'VIDEO';
  state: string;
  outcome: 'PASSED' | 'FAILED' | 'ESCALATED' | null;
  loanFileId: string;
  loanRef: string;
  product: string;
  loanFileStatus: string;
  agentName: string | null;
  mode: 'AGENT' | 'AUTOMATED_CALL';
  handOffReason: string | null;
  createdAt: string;
  completedAt: string | null;
  review: { id: string; status: ReviewStatus; reason: string; createdAt: string } | null;
}

export interface SearchPage {
  items: SessionRow[];
  nextCursor: string | null;
}

export interface Localized {
  'zh-CN': string;
  en: string;
}

export interface RecordingInfo {
  id: string;
  state: string;
  audioOnly: boolean;
  contentType: string | null;
  sha256: string | null;
  sizeBytes: string | null;
  durationMs: number | null;
  verifiedAt: string | null;
  lastIntegrityCheckAt: string | null;
  retainUntil: string | null;
  legalHold: boolean;
  failureReason: string | null;
}

export interface ReviewFile {
  session: { id: string; kind: 'CALL' | 'VIDEO'; state: string; outcome: string | null; language: string; createdAt: string; completedAt: string | null; endReason: string | null; decisionNote: string | null; recaptureRequired: boolean; mode: 'AGENT' | 'AUTOMATED_CALL'; handOffReason: string | null; handedOffAt: string | null };
  signing: { documentHash: string; offsetMs: number; attemptId: string; confirmedAt: string } | null;
  pagesPresented: { page: number; offsetMs: number; attemptId: string | null; at: string }[];
  loanFile: { id: string; externalRef: string; product: string; productName: ProductName | null; amount: string; currency: string; status: string };
  party: { role: string; name: string; locale: string };
  agent: { id: string; displayName: string } | null;
  viewerRanSession: boolean;
  template: { key: string; version: number; contentHash: string };
  /** What each {placeholder} reads as, per language, formatted by the server from the session's loan terms. */
  values: Record<'zh-CN' | 'en', Record<string, string>>;
  items: {
    id: string;
    sectionId: string;
    kind: string;
    required: boolean;
    prompt: Localized;
    guidance: Localized | null;
    answer: {
      value: 'CONFIRMED' | 'DENIED' | 'UNCLEAR' | 'NOT_ASKED';
      /** The agent's note, or the English wording of the automated call's note (then `noteCode` is set). */
      note: string | null;
      offsetMs: number | null;
      revision: number;
      answeredAt: string;
      attemptId: string | null;
      answeredBy: 'AGENT' | 'AUTOMATED_CALL';
      noteCode: string | null;
      noteParams: Record<string, string | number> | null;
    } | null;
  }[];
  flags: { id: string; code: string; severity: 'LOW' | 'MEDIUM' | 'HIGH'; note: string | null; offsetMs: number | null; createdAt: string; attemptId: string | null }[];
  attempts: { id: string; number: number; startedAt: string; endedAt: string | null; recordingStartedAt: string | null; dialOutcome: string | null; endReason: string | null; recording: RecordingInfo | null }[];
  review: { id: string; status: ReviewStatus; reason: string; note: string | null; reviewerName: string | null; decidedAt: string | null; createdAt: string } | null;
}

export interface Capture {
  id: string;
  kind: string;
  offsetMs: number | null;
  attemptId: string;
  sha256: string;
  contentType: string;
  createdAt: string;
}

export interface IntegrityResult {
  recordingId: string;
  result: 'ok' | 'mismatch' | 'missing';
  expectedSha256: string;
  actualSha256: string | null;
  actualBytes: string | null;
  checkedAt: string;
}
