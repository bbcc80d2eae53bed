// The API answers the desk reads, from the generated OpenAPI types (DeskSession, Checklist, SessionOffer, JoinGrant).
import type { ResponseOf, Schemas } from '../../shared/api';

export type DeskSession = Schemas['DeskSession'];
export type Desk = ResponseOf<'/api/agent/desk'>;
export type Offer = Schemas['SessionOffer'];
export type JoinGrant = Schemas['JoinGrant'];
export type Checklist = Schemas['Checklist'];
export type ChecklistItem = Checklist['items'][number];
export type Answer = NonNullable<ChecklistItem['answer']>;
export type AnswerValue = Answer['value'];
export type RiskFlag = Schemas['RiskFlag'];
export type Bilingual = ChecklistItem['prompt'];
export type SessionMode = DeskSession['mode'];

/** An offer as the desk shows it: its deadline on this computer's clock, whatever that clock says. */
export type LiveOffer = Offer & { deadline: number };

export const FLAG_CODES = ['EVASIVE', 'NERVOUS', 'THIRD_PARTY_PRESENT', 'PROMPTED', 'INCONSISTENT', 'IDENTITY_MISMATCH', 'COERCION_SUSPECTED', 'POOR_AUDIO_VIDEO'] as const;
export const SEVERITIES = ['LOW', 'MEDIUM', 'HIGH'] as const;
