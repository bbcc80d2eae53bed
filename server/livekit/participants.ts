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
import { sql as fragment, type Expression } from 'kysely';
import type { Sql } from '../db/client.js';
import { build, first, rows } from '../db/typed-sql.js';
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

/** SIP call statuses in the order they happen; a status never goes back. */
const SIP_ORDER = fragment`ARRAY['dialing','ringing','automation','active','hangup']`;

/**
 * The merge as one statement that returns the merged row, for use on its own or as a CTE of a larger
 * statement.
 */
export function mergeParticipantStatement(fact: ParticipantFact) {
  const session = sessionOf(fact);
  return build
    .insertInto('AttemptParticipant')
    .values({
      id: randomUUID(),
      attemptId: fact.attemptId,
      identity: fact.identity,
      kind: fact.role,
      sid: session.sid,
      sipCallStatus: fact.sipCallStatus ?? null,
      joinedAt: session.joinedAt,
      leftAt: session.leftAt,
      tracks: fact.tracks ?? [],
      updatedAt: fragment<Date>`now()`,
    })
    .onConflict((oc) =>
      oc.columns(['attemptId', 'identity']).doUpdateSet((eb) => {
        // Inside ON CONFLICT … DO UPDATE the table's name stands for the row already there (EXCLUDED
        // for the one proposed). The same LiveKit session merges (each timestamp the later one); a
        // session that joined later replaces the row; a fact about an older one changes nothing.
        const sameSession = eb.and([eb('excluded.sid', 'is not', null), eb('excluded.sid', 'is not distinct from', eb.ref('AttemptParticipant.sid'))]);
        const newerSession = eb.and([
          eb.not(sameSession),
          eb('excluded.joinedAt', 'is not', null),
          eb.or([eb('AttemptParticipant.joinedAt', 'is', null), eb('excluded.joinedAt', '>', eb.ref('AttemptParticipant.joinedAt'))]),
        ]);
        const sipRank = (status: Expression<string | null>) => fragment<number | null>`array_position(${SIP_ORDER}, ${status})`;
        // A time of the same session takes the later of the two; a newer session's replaces it.
        const merged = (stored: 'AttemptParticipant.joinedAt' | 'AttemptParticipant.leftAt', seen: 'excluded.joinedAt' | 'excluded.leftAt') =>
          eb.case().when(sameSession).then(eb.fn<Date | null>('greatest', [stored, seen])).when(newerSession).then(eb.ref(seen)).else(eb.ref(stored)).end();
        return {
          sid: eb.case().when(newerSession).then(eb.ref('excluded.sid')).else(eb.ref('AttemptParticipant.sid')).end(),
          joinedAt: merged('AttemptParticipant.joinedAt', 'excluded.joinedAt'),
          leftAt: merged('AttemptParticipant.leftAt', 'excluded.leftAt'),
          sipCallStatus: eb
            .case()
            .when(sipRank(eb.ref('excluded.sipCallStatus')), '>', eb.fn.coalesce(sipRank(eb.ref('AttemptParticipant.sipCallStatus')), eb.lit(0)))
            .then(eb.ref('excluded.sipCallStatus'))
            .else(eb.ref('AttemptParticipant.sipCallStatus'))
            .end(),
          tracks: fragment<string[]>`ARRAY(SELECT DISTINCT unnest(${eb.ref('AttemptParticipant.tracks')} || ${eb.ref('excluded.tracks')}) ORDER BY 1)`,
          updatedAt: fragment<Date>`now()`,
        };
      }),
    )
    .returning((eb) => ['identity', fragment<ParticipantRole>`${eb.ref('kind')}::text`.as('kind'), 'sipCallStatus', 'joinedAt', 'leftAt']);
}

export async function mergeParticipant(sql: Sql, fact: ParticipantFact): Promise<ParticipantRow> {
  const row = await first(sql, mergeParticipantStatement(fact), 'participant-merge');
  if (!row) throw new Error('participant merge returned nothing');
  return row;
}

/** The room closed at `at`: everyone still in it (as far as we know) left then. */
export async function everyoneLeft(sql: Sql, attemptId: string, at: Date): Promise<void> {
  await rows(
    sql,
    build
      .updateTable('AttemptParticipant')
      .set({ leftAt: at, updatedAt: fragment<Date>`now()` })
      .where('attemptId', '=', attemptId)
      .where((eb) => eb.or([eb('leftAt', 'is', null), eb('leftAt', '<', at)]))
      .where('joinedAt', '<', at),
    'room-finish-leave',
  );
}
