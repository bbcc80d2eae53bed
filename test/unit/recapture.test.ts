// A recapture is the reviewed session again, routed ahead of routine work.
import { describe, expect, it } from 'vitest';
import { recaptureOf } from '../../server/reviews/recapture.js';

const session = { partyId: 'p-1', kind: 'VIDEO', templateKey: 'video-standard', priority: 0, contractDocumentHash: null } as const;

describe('recaptureOf', () => {
  it('keeps the party, kind, script and contract, and raises the priority by 10', () => {
    expect(recaptureOf({ ...session, contractDocumentHash: 'ab'.repeat(32) })).toEqual({ partyId: 'p-1', kind: 'VIDEO', templateKey: 'video-standard', priority: 10, contractDocumentHash: 'ab'.repeat(32) });
  });

  it.each([
    [85, 95],
    [95, 100],
    [100, 100],
  ])('caps the priority at 100 (%i -> %i)', (priority, raised) => {
    expect(recaptureOf({ ...session, priority }).priority).toBe(raised);
  });

  it('leaves the contract out when the session had none', () => {
    expect(recaptureOf(session).contractDocumentHash).toBeUndefined();
  });
});
