// What LiveKit reported (participants, rooms), turned into session events; a video party who left
// gets the reconnect grace period through its job.
import { sqlAutocommit } from '../../db/client.js';
import { build, first } from '../../db/typed-sql.js';
import type { LiveKitSignal } from '../../livekit/livekit-events.service.js';
import { tryApply, type SessionJobContext } from './context.js';

/** Turns what LiveKit reported into session events. */
export async function onLiveKitSignals(ctx: SessionJobContext, signals: LiveKitSignal[]): Promise<void> {
  for (const signal of signals) {
    // Several signals per call: the attempt's session and whether it is the latest, in one statement.
    const session = await first(
      sqlAutocommit(ctx.db),
      build
        .selectFrom('Attempt as a')
        .innerJoin('VerificationSession as s', 's.id', 'a.sessionId')
        .select(['s.id', 's.kind', 's.state', 's.version', 's.assignedAgentId'])
        .select((eb) => eb('a.number', '=', eb.selectFrom('Attempt as l').select((l) => l.fn.max('l.number').as('n')).whereRef('l.sessionId', '=', 's.id')).as('latest'))
        .where('a.id', '=', signal.attemptId),
      'signal-attempt-session',
    );
    if (!session?.latest) continue; // news about an earlier attempt changes nothing

    if (signal.kind === 'room-finished') {
      if (session.state === 'IN_PROGRESS') await tryApply(ctx, session.id, { type: 'CONVERSATION_ENDED' }, session.version);
      continue;
    }
    if (signal.kind !== 'participant') continue;
    if (signal.role === 'PARTY' && session.kind === 'CALL') {
      if (signal.sipCallStatus === 'ringing' && session.state === 'DISPATCHING') await tryApply(ctx, session.id, { type: 'CALL_RINGING' }, session.version);
      else if (!signal.present && session.state === 'IN_PROGRESS') await tryApply(ctx, session.id, { type: 'CONVERSATION_ENDED' }, session.version);
    } else if (signal.role === 'PARTY' && session.kind === 'VIDEO') {
      if (!signal.present && session.state === 'IN_PROGRESS') {
        await ctx.queues.enqueue(
          'session-reconnect-grace',
          { sessionId: session.id, attemptId: signal.attemptId },
          { jobId: `grace-${signal.attemptId}-${Date.now()}`, delayMs: ctx.settings.reconnectGraceMs },
        );
      }
    } else if (signal.role === 'AGENT' && session.kind === 'VIDEO' && signal.present && session.state === 'WAITING') {
      if (session.assignedAgentId && signal.identity === `agent-${session.assignedAgentId}`) {
        await tryApply(ctx, session.id, { type: 'AGENT_JOINED', agentId: session.assignedAgentId }, session.version);
      }
    }
  }
}
