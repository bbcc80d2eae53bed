// The recording lifecycle as pure rules. A recording only moves forward: webhooks and the
// reconciler may report the same egress in any order, and the furthest state seen wins.
//
//   REQUESTED -> ACTIVE -> ENDING -> UPLOADED -> VERIFIED -> RETAINED -> DELETED (retention over)
//        \__________\________\______-> FAILED (reason)
import type { ObservedEgressStatus } from '../server/livekit/observations.js';

export const RECORDING_STATES = ['REQUESTED', 'ACTIVE', 'ENDING', 'UPLOADED', 'VERIFIED', 'RETAINED', 'FAILED', 'DELETED'] as const;
export type RecordingState = (typeof RECORDING_STATES)[number];

const RANK: Record<RecordingState, number> = { REQUESTED: 0, ACTIVE: 1, ENDING: 2, UPLOADED: 3, FAILED: 3, VERIFIED: 4, RETAINED: 5, DELETED: 6 };

/** What an egress status means for the recording. */
export function recordingStateForEgress(status: ObservedEgressStatus): RecordingState {
  switch (status) {
    case 'STARTING':
      return 'REQUESTED';
    case 'ACTIVE':
      return 'ACTIVE';
    case 'ENDING':
      return 'ENDING';
    case 'COMPLETE':
    case 'LIMIT_REACHED': // the file was written up to the limit: still evidence
      return 'UPLOADED';
    case 'FAILED':
    case 'ABORTED':
      return 'FAILED';
  }
}

/**
 * True when moving from `from` to `to` is progress. FAILED is terminal (a failed recording is
 * recaptured by a new attempt), and an egress outcome never replaces the other (UPLOADED vs FAILED).
 */
export function advances(from: RecordingState, to: RecordingState): boolean {
  if (from === 'FAILED' || from === 'DELETED') return false;
  return RANK[to] > RANK[from];
}

/** States from which `to` is progress, for conditional updates. */
export function statesBefore(to: RecordingState): RecordingState[] {
  return RECORDING_STATES.filter((s) => advances(s, to));
}
