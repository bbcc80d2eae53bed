// Alerts supervisors hear over the socket that no other module raises: a recording LiveKit reported as
// failed (egress error, upload refused). Runs on LiveKit signals, which are emitted after commit.
import type { Db } from '../db/client.js';
import type { LiveKitSignal } from '../livekit/livekit-events.service.js';
import type { RealtimeEmitter } from '../realtime/events.js';

export async function alertOnFailedRecordings(db: Db, realtime: RealtimeEmitter, signals: LiveKitSignal[]): Promise<void> {
  for (const signal of signals) {
    if (signal.kind !== 'recording' || signal.state !== 'FAILED') continue;
    const attempt = await db.attempt.findUnique({ where: { id: signal.attemptId }, select: { sessionId: true, number: true } });
    if (!attempt) continue;
    realtime.toSupervisors('alert', {
      v: 1,
      kind: 'recording_failed',
      sessionId: attempt.sessionId,
      message: `Recording of attempt ${attempt.number} failed in LiveKit egress; that attempt has no usable recording`,
    });
  }
}
