// The projection of who is in an attempt's room. Every update is a commutative merge (timestamps
// take the maximum, SIP call status only moves forward), so duplicated, reordered or replayed
// observations from webhooks and the reconciler converge to the same row.
import { randomUUID } from 'node:crypto';
import type { Sql } from '../db/client.js';
import type { ParticipantRole } from './identities.js';
import type { SipCallStatus } from './observations.js';

export interface ParticipantFact {
  attemptId: string;
  identity: string;
  role: ParticipantRole;
  sid?: string | undefined;
  sipCallStatus?: SipCallStatus | undefined;
  joinedAt?: Date | undefined;
  leftAt?: Date | undefined;
  tracks?: string[] | undefined;
}

export interface ParticipantRow {
  identity: string;
  kind: ParticipantRole;
  sipCallStatus: string | null;
  joinedAt: Date | null;
  leftAt: Date | null;
}

/** Present when seen joining after (not at the same instant as) the last time seen leaving. */
export const isPresent = (p: Pick<ParticipantRow, 'joinedAt' | 'leftAt'>): boolean =>
  p.joinedAt !== null && (p.leftAt === null || p.joinedAt > p.leftAt);

export async function mergeParticipant(sql: Sql, fact: ParticipantFact): Promise<ParticipantRow> {
  const rows = await sql.query<ParticipantRow>({
    name: 'participant-merge',
    text: `INSERT INTO "AttemptParticipant" (id, "attemptId", identity, kind, sid, "sipCallStatus", "joinedAt", "leftAt", tracks, "updatedAt")
    VALUES ($1::uuid, $2::uuid, $3, $4::"ParticipantKind", $5, $6, $7::timestamptz, $8::timestamptz, $9::text[], now())
    ON CONFLICT ("attemptId", identity) DO UPDATE SET
      sid = COALESCE(EXCLUDED.sid, "AttemptParticipant".sid),
      "sipCallStatus" = CASE
        WHEN array_position(ARRAY['dialing','ringing','automation','active','hangup'], EXCLUDED."sipCallStatus")
           > COALESCE(array_position(ARRAY['dialing','ringing','automation','active','hangup'], "AttemptParticipant"."sipCallStatus"), 0)
        THEN EXCLUDED."sipCallStatus" ELSE "AttemptParticipant"."sipCallStatus" END,
      "joinedAt" = GREATEST("AttemptParticipant"."joinedAt", EXCLUDED."joinedAt"),
      "leftAt" = GREATEST("AttemptParticipant"."leftAt", EXCLUDED."leftAt"),
      tracks = ARRAY(SELECT DISTINCT unnest("AttemptParticipant".tracks || EXCLUDED.tracks) ORDER BY 1),
      "updatedAt" = now()
    RETURNING identity, kind::text AS kind, "sipCallStatus", "joinedAt", "leftAt"`,
    values: [
      randomUUID(), fact.attemptId, fact.identity, fact.role, fact.sid ?? null, fact.sipCallStatus ?? null,
      fact.joinedAt?.toISOString() ?? null, fact.leftAt?.toISOString() ?? null, fact.tracks ?? [],
    ],
  });
  const row = rows[0];
  if (!row) throw new Error('participant merge returned nothing');
  return row;
}
