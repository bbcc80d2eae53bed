// The reconciler runs by itself as a repeatable BullMQ job: a lost egress_ended is repaired with
// nobody calling it.
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ApiClient } from '../support/api-client.js';
import { createAttempt, eventually } from '../support/fixtures.js';
import { startTestApp, type TestApp } from '../support/harness.js';
import { attemptOf, entityAuditEventsOf } from '../support/reads.js';
import { losClient } from '../support/verification.js';

let t: TestApp;
let los: ApiClient;
let auditor: ApiClient;
beforeAll(async () => {
  t = await startTestApp({ RECONCILE_INTERVAL_SECONDS: '1' }, { livekit: true });
  los = await losClient(t);
  auditor = await t.signIn({ roles: ['AUDITOR'] });
});
afterAll(async () => t?.stop());

it('repairs a dropped egress_ended on its schedule', async () => {
  const { room, attempt, session } = await createAttempt(t.facesign.db, { kind: 'CALL' });
  await t.facesign.livekit!.platform.createRoom({ name: room, maxParticipants: 3, metadata: { sessionId: session.id, attemptId: attempt.id } });
  t.sim!.control.injectWebhookFault({ action: 'drop', event: 'egress_ended', room });
  const rec = await t.facesign.livekit!.recordings.startForAttempt(attempt.id);
  const recordingOf = async () => (await attemptOf(los, session.loanFileId, session.id, attempt.id)).recording;
  // Stopped once it records: a stop while egress is still starting aborts it (a failed recording).
  await eventually(async () => (await recordingOf())?.state === 'ACTIVE');
  await t.facesign.livekit!.recordings.stopForAttempt(attempt.id);
  await t.sim!.control.settled();
  expect(t.sim!.control.webhookDeliveries().filter((d) => d.room === room && d.event === 'egress_ended').map((d) => d.status)).toEqual(['dropped']);
  const repaired = await eventually(async () => {
    const r = await recordingOf();
    // Repaired to UPLOADED, and from there the pipeline carries it on (finalize, retention).
    return r && ['UPLOADED', 'VERIFIED', 'RETAINED'].includes(r.state) ? r : undefined;
  }, 100);
  expect(BigInt(repaired.reportedSize ?? 0)).toBeGreaterThan(0n);
  const transitions = (await entityAuditEventsOf(auditor, session.id, rec.id)).filter((e) => e.action === 'recording.state_changed');
  expect(transitions.map((a) => a.data)).toContainEqual(expect.objectContaining({ to: 'UPLOADED', source: 'reconciler' }));
});
