// Applies what LiveKit reports about an egress to the Recording row, inside the caller's
// transaction, with its audit event. An egress that becomes active also moves its attempt's
// recording start to the egress's own start time. Conditional on state and version: concurrent or repeated
// reports of the same egress converge on the furthest state.
import { sqlIn, type Tx } from '../server/db/client.js';
import { moveRecordingStart } from '../server/verification/verification.repository.js';
import { appendAudit } from '../server/audit/audit.service.js';
import type { ObservedEgress } from '../server/livekit/observations.js';
import { advances, recordingStateForEgress, type RecordingState } from './recording-state.js';
import { advanceFromEgress } from './recording.repository.js';

export type EgressApplication =
  | { kind: 'advanced'; recordingId: string; attemptId: string; from: RecordingState; to: RecordingState }
  | { kind: 'stale'; recordingId: string; state: RecordingState }
  | { kind: 'unknown-egress' };

export async function applyEgressObservation(
  tx: Tx,
  observed: ObservedEgress,
  source: 'webhook' | 'reconciler' | 'facesign',
): Promise<EgressApplication> {
  const target = recordingStateForEgress(observed.status);
  for (let round = 0; round < 5; round += 1) {
    const rec = await tx.recording.findUnique({ where: { egressId: observed.egressId } });
    if (!rec) return { kind: 'unknown-egress' };
    if (!advances(rec.state, target)) return { kind: 'stale', recordingId: rec.id, state: rec.state };
    const reason = target === 'FAILED' ? (observed.error ?? `egress ${observed.status.toLowerCase()}`).slice(0, 500) : undefined;
    const advanced = await advanceFromEgress(tx, rec, target, {
      ...(observed.startedAt ? { egressStartedAt: observed.startedAt } : {}),
      ...(observed.endedAt ? { egressEndedAt: observed.endedAt } : {}),
      ...(observed.file && target === 'UPLOADED'
        ? { reportedSize: observed.file.size, reportedDurationMs: observed.file.durationMs, location: observed.file.location.slice(0, 1024), objectKey: observed.file.key }
        : {}),
      ...(reason ? { failureReason: reason } : {}),
    });
    if (!advanced) continue; // someone else moved it first: look again
    if (target === 'ACTIVE' && observed.startedAt) {
      // Offsets into the recording (answers, flags, captures) count from the moment the file begins,
      // which is when LiveKit started the egress, not when facesign asked for it.
      await moveRecordingStart(sqlIn(tx), rec.attemptId, observed.startedAt);
    }
    await appendAudit(tx, {
      actor: { type: 'SYSTEM', id: `livekit-${source}` },
      entity: { type: 'recording', id: rec.id },
      event: {
        action: 'recording.state_changed',
        v: 1,
        data: { attemptId: rec.attemptId, egressId: observed.egressId, from: rec.state, to: target, source, ...(reason ? { reason } : {}) },
      },
    });
    return { kind: 'advanced', recordingId: rec.id, attemptId: rec.attemptId, from: rec.state, to: target };
  }
  throw new Error(`recording for egress ${observed.egressId} kept changing under us`);
}
