// The projection of who is in an attempt's room. A row describes the latest thing seen of one identity:
// a LiveKit session (its sid, when it joined, when it left if it did), or an observation that nobody
// was there (no sid, joined and left at that moment). A borrower who reloads gets a new session under
// the same identity, and LiveKit may report the replaced session's participant_left after the new
// session's participant_joined, stamped later than it; so a fact about an older session changes
// nothing, a newer session replaces the row, and facts about the same session merge (timestamps take
// the maximum). SIP call status only moves forward and tracks accumulate. Every update is
// commutative, so duplicated, reordered or replayed observations from webhooks and the reconciler
// converge to the same row.
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
  /**
   * When this session joined, by LiveKit's clock; a leave should carry it too. With `leftAt` and no
   * `joinedAt` the fact says only "not in the room from `leftAt` on" (the reconciler's view).
   */
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

/** Present when the latest session seen joined after (not at the same instant as) it was last seen leaving. */
export const isPresent = (p: Pick<ParticipantRow, 'joinedAt' | 'leftAt'>): boolean =>
  p.joinedAt !== null && (p.leftAt === null || p.joinedAt > p.leftAt);

/** The session a fact is about, as the merge orders sessions: by join time, a session known by its sid. */
function sessionOf(fact: ParticipantFact): { sid: string | null; joinedAt: Date | null; leftAt: Date | null } {
  // Nobody there from then on: ordered like a session that began and ended at that moment, so it
  // ends every session that joined before it and none that joined after.
  if (fact.leftAt && !fact.joinedAt) return { sid: null, joinedAt: fact.leftAt, leftAt: fact.leftAt };
  // A fact that does not say when its session joined (a track event) cannot place it: presence stays.
  if (!fact.joinedAt) return { sid: null, joinedAt: null, leftAt: null };
  return { sid: fact.sid ?? null, joinedAt: fact.joinedAt, leftAt: fact.leftAt ?? null };
}

const ROW = '"AttemptParticipant"';
const SAME_SESSION = `(EXCLUDED.sid IS NOT NULL AND EXCLUDED.sid IS NOT DISTINCT FROM ${ROW}.sid)`;
const NEWER_SESSION = `(NOT ${SAME_SESSION} AND EXCLUDED."joinedAt" IS NOT NULL AND (${ROW}."joinedAt" IS NULL OR EXCLUDED."joinedAt" > ${ROW}."joinedAt"))`;

/**
 * The merge as one statement with parameters $1..$9 that returns the merged row, for use on its own or
 * as a CTE of a larger statement.
 */
export function mergeParticipantStatement(fact: ParticipantFact): { text: string; values: unknown[] } {
  const session = sessionOf(fact);
  return {
    text: `INSERT INTO ${ROW} (id, "attemptId", identity, kind, sid, "sipCallStatus", "joinedAt", "leftAt", tracks, "updatedAt")
    VALUES ($1::uuid, $2::uuid, $3, $4::"ParticipantKind", $5, $6, $7::timestamptz, $8::timestamptz, $9::text[], now())
    ON CONFLICT ("attemptId", identity) DO UPDATE SET
      sid = CASE WHEN ${NEWER_SESSION} THEN EXCLUDED.sid ELSE ${ROW}.sid END,
      "joinedAt" = CASE WHEN ${SAME_SESSION} THEN GREATEST(${ROW}."joinedAt", EXCLUDED."joinedAt")
        WHEN ${NEWER_SESSION} THEN EXCLUDED."joinedAt" ELSE ${ROW}."joinedAt" END,
      "leftAt" = CASE WHEN ${SAME_SESSION} THEN GREATEST(${ROW}."leftAt", EXCLUDED."leftAt")
        WHEN ${NEWER_SESSION} THEN EXCLUDED."leftAt" ELSE ${ROW}."leftAt" END,
      "sipCallStatus" = CASE
        WHEN array_position(ARRAY['dialing','ringing','automation','active','hangup'], EXCLUDED."sipCallStatus")
           > COALESCE(array_position(ARRAY['dialing','ringing','automation','active','hangup'], ${ROW}."sipCallStatus"), 0)
        THEN EXCLUDED."sipCallStatus" ELSE ${ROW}."sipCallStatus" END,
      tracks = ARRAY(SELECT DISTINCT unnest(${ROW}.tracks || EXCLUDED.tracks) ORDER BY 1),
      "updatedAt" = now()
    RETURNING identity, kind::text AS kind, "sipCallStatus", "joinedAt", "leftAt"`,
    values: [
      randomUUID(), fact.attemptId, fact.identity, fact.role, session.sid, fact.sipCallStatus ?? null,
      session.joinedAt?.toISOString() ?? null, session.leftAt?.toISOString() ?? null, fact.tracks ?? [],
    ],
  };
}

export async function mergeParticipant(sql: Sql, fact: ParticipantFact): Promise<ParticipantRow> {
  const rows = await sql.query<ParticipantRow>({ name: 'participant-merge', ...mergeParticipantStatement(fact) });
  const row = rows[0];
  if (!row) throw new Error('participant merge returned nothing');
  return row;
}
