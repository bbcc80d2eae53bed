// Shapes of the API answers the desk reads (see /api/openapi.json: DeskSession, Checklist, SessionOffer, JoinGrant).
import type { TermsSnapshot } from '../../shared/key-terms';
import type { ProductName } from '../../shared/labels';

export type AnswerValue = 'CONFIRMED' | 'DENIED' | 'UNCLEAR' | 'NOT_ASKED';
export type Bilingual = { 'zh-CN': string; en: string };
export type SessionMode = 'AGENT' | 'AUTOMATED_CALL';

export interface DeskSession {
  id: string;
  kind: 'CALL' | 'VIDEO';
  state: string;
  version: number;
  outcome: string | null;
  notBefore: string;
  nextAttemptAt: string | null;
  completedAt: string | null;
  attemptCount: number;
  maxAttempts: number;
  lastDialOutcome: string | null;
  /** AUTOMATED_CALL: the automated confirmation call ran (or runs) the checklist first. */
  mode: SessionMode;
  /** Why the automated call handed the party to a person (DENIED, UNCLEAR, NO_INPUT, HUNG_UP, BOT_FAILED). */
  handOffReason: string | null;
  handedOffAt: string | null;
  loan: { externalRef: string; product: string; productName: ProductName | null; amount: string; currency: string };
  party: { name: string; role: string; phoneLast4: string; idNumberLast4: string | null; locale: string; timeZone: string };
  attempt: {
    id: string;
    number: number;
    startedAt: string;
    answeredAt: string | null;
    endedAt: string | null;
    recordingStartedAt: string | null;
    partyConnected: boolean;
    callStatus: string | null;
  } | null;
  recording: { id: string; state: string } | null;
}

export interface Desk {
  day: { start: string; end: string };
  active: DeskSession[];
  today: DeskSession[];
  upcoming: DeskSession[];
}

export interface Offer {
  id: string;
  sessionId: string;
  kind: 'CALL' | 'VIDEO';
  status: string;
  mode: SessionMode;
  handOffReason: string | null;
  offeredAt: string;
  expiresAt: string;
  /** Left when the server answered; the desk counts down from when the answer arrived. */
  expiresInMs: number;
}

/** An offer as the desk shows it: its deadline on this computer's clock, whatever that clock says. */
export type LiveOffer = Offer & { deadline: number };

export interface JoinGrant {
  sessionId: string;
  kind: 'CALL' | 'VIDEO';
  room: string;
  livekitUrl: string;
  token: string;
}

export interface ChecklistItem {
  id: string;
  sectionId: string;
  kind: string;
  required: boolean;
  prompt: Bilingual;
  guidance: Bilingual | null;
  answer: Answer | null;
}

export interface Answer {
  value: AnswerValue;
  /** The agent's note, or the English wording of the automated call's note (then `noteCode` is set). */
  note: string | null;
  offsetMs: number | null;
  revision: number;
  answeredAt: string;
  answeredBy: 'AGENT' | 'AUTOMATED_CALL';
  noteCode: string | null;
  noteParams: Record<string, string | number> | null;
}

export interface RiskFlag {
  id: string;
  code: string;
  severity: 'LOW' | 'MEDIUM' | 'HIGH';
  note: string | null;
  offsetMs: number | null;
  createdAt: string;
}

export interface Checklist {
  sessionId: string;
  state: string;
  version: number;
  templateKey: string;
  templateVersion: number;
  items: ChecklistItem[];
  flags: RiskFlag[];
  liveness: { id: string; prompt: Bilingual } | null;
  /** What each {placeholder} reads as, per language, formatted by the server from the session's loan terms. */
  values: Record<'zh-CN' | 'en', Record<string, string>>;
  /** The session's terms snapshot (null for sessions scheduled before terms existed). */
  loanTerms: TermsSnapshot | null;
}

export const FLAG_CODES = ['EVASIVE', 'NERVOUS', 'THIRD_PARTY_PRESENT', 'PROMPTED', 'INCONSISTENT', 'IDENTITY_MISMATCH', 'COERCION_SUSPECTED', 'POOR_AUDIO_VIDEO'] as const;
export const SEVERITIES = ['LOW', 'MEDIUM', 'HIGH'] as const;
