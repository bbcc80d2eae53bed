// Recordings whose end LiveKit never told us, repaired against the real livekit-server. Egress cannot
// run here, but what matters is what the server says about an egress it no longer has: LiveKit forgets
// an egress 24 h after it ended, and then answers ListEgress by its id with not_found.
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3Client } from '../../recordings/object-store.js';
import type { ApiClient } from '../support/api-client.js';
import { createAttempt, eventually } from '../support/fixtures.js';
import { startTestApp, type TestApp } from '../support/harness.js';
import { reviewedRecordingOf, reviewFileOf } from '../support/reads.js';

let t: TestApp;
let auditor: ApiClient;
beforeAll(async () => {
  t = await startTestApp({}, { livekit: 'real' });
  auditor = await t.signIn({ roles: ['AUDITOR'] });
});
afterAll(async () => t?.stop());

async function activeRecordingOfAForgottenEgress(options: { stored: boolean }) {
  const { attempt, session, room } = await createAttempt(t.facesign.db, { kind: 'CALL' });
  const objectKey = `recordings/forgotten/${attempt.id}.ogg`;
  if (options.stored) {
    const s3 = createS3Client(t.facesign.config.s3);
    await s3.send(new PutObjectCommand({ Bucket: t.facesign.config.s3.bucket, Key: objectKey, Body: Buffer.from('OggS recorded call'), ContentType: 'audio/ogg' }));
  }
  const egressId = `EG_forgotten${attempt.id.slice(0, 8)}`;
  // fixture: a recording still ACTIVE as far as facesign knows
  const rec = await t.facesign.db.recording.create({ data: { attemptId: attempt.id, audioOnly: true, objectKey, egressId, state: 'ACTIVE' } });
  return { rec, sessionId: session.id, room };
}

describe('an egress LiveKit no longer knows', () => {
  it('is asked about once: the real server answers not_found and facesign reads it as gone', async () => {
    expect(await t.facesign.livekit!.platform.listRecordings({ egressId: 'EG_neverexisted' })).toEqual([]);
  });

  it('is taken as ended: finalize verifies the object the store holds, and the next run finds nothing to repair', async () => {
    const { rec, sessionId } = await activeRecordingOfAForgottenEgress({ stored: true });
    const report = await t.facesign.livekit!.reconciler.runOnce();
    expect(report.errors).toBe(0);
    expect(report.recordingsRepaired).toBeGreaterThanOrEqual(1);
    const verified = await eventually(async () => {
      const r = await reviewedRecordingOf(auditor, sessionId, rec.id);
      return r.state === 'VERIFIED' || r.state === 'RETAINED' ? r : undefined;
    });
    expect(verified.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(verified.sizeBytes).toBe('18');
    expect((await t.facesign.livekit!.reconciler.runOnce()).errors).toBe(0);
  });

  it('fails the recording as missing when the store has nothing, so the session is recorded again', async () => {
    const { rec, sessionId } = await activeRecordingOfAForgottenEgress({ stored: false });
    expect((await t.facesign.livekit!.reconciler.runOnce()).errors).toBe(0);
    const failed = await eventually(async () => {
      const r = await reviewedRecordingOf(auditor, sessionId, rec.id);
      return r.state === 'FAILED' ? r : undefined;
    });
    expect(failed.failureReason).toBe('object_missing');
    expect((await reviewFileOf(auditor, sessionId)).session.recaptureRequired).toBe(true);
  });
});
