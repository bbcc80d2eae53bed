import { describe, expect, it } from 'vitest';
import { advances, recordingStateForEgress, RECORDING_STATES, statesBefore, type RecordingState } from '../../recordings/recording-state.js';

describe('recordingStateForEgress', () => {
  it.each([
    ['STARTING', 'REQUESTED'],
    ['ACTIVE', 'ACTIVE'],
    ['ENDING', 'ENDING'],
    ['COMPLETE', 'UPLOADED'],
    ['LIMIT_REACHED', 'UPLOADED'],
    ['FAILED', 'FAILED'],
    ['ABORTED', 'FAILED'],
  ] as const)('%s -> %s', (egress, state) => {
    expect(recordingStateForEgress(egress)).toBe(state);
  });
});

describe('advances', () => {
  const forward = new Set([
    'REQUESTED>ACTIVE', 'REQUESTED>ENDING', 'REQUESTED>UPLOADED', 'REQUESTED>FAILED', 'REQUESTED>VERIFIED', 'REQUESTED>RETAINED',
    'ACTIVE>ENDING', 'ACTIVE>UPLOADED', 'ACTIVE>FAILED', 'ACTIVE>VERIFIED', 'ACTIVE>RETAINED',
    'ENDING>UPLOADED', 'ENDING>FAILED', 'ENDING>VERIFIED', 'ENDING>RETAINED',
    'UPLOADED>VERIFIED', 'UPLOADED>RETAINED',
    'VERIFIED>RETAINED',
    'REQUESTED>DELETED', 'ACTIVE>DELETED', 'ENDING>DELETED', 'UPLOADED>DELETED', 'VERIFIED>DELETED', 'RETAINED>DELETED',
  ]);
  const pairs = RECORDING_STATES.flatMap((from) => RECORDING_STATES.map((to) => [from, to] as [RecordingState, RecordingState]));

  it.each(pairs)('%s -> %s', (from, to) => {
    expect(advances(from, to)).toBe(forward.has(`${from}>${to}`));
  });

  it('statesBefore lists exactly the states that may advance to a target', () => {
    expect(statesBefore('UPLOADED')).toEqual(['REQUESTED', 'ACTIVE', 'ENDING']);
    expect(statesBefore('FAILED')).toEqual(['REQUESTED', 'ACTIVE', 'ENDING']);
    expect(statesBefore('REQUESTED')).toEqual([]);
  });
});
