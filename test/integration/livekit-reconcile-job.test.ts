// The reconciler runs by itself as a repeatable BullMQ job: a lost egress_ended is repaired with
// nobody calling it.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createAttempt, eventually } from '../support/fixtures.js';
import { startTestApp, type TestApp } from '../support/harness.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ RECONCILE_INTERVAL_SECONDS: '1' }, { livekit: true });
});
afterAll(async () => t?.stop());

it('repairs a dropped egress_ended on its schedule', async () => {
  const { room, attempt, session } = await createAttempt(t.facesign.db, { kind: 'CALL' });
  await t.facesign.livekit!.platform.createRoom({ name: room, maxParticipants: 3, metadata: { sessionId: session.id, attemptId: attempt.id } });
  t.sim!.control.injectWebhookFault({ action: 'drop', event: 'egress_ended', room });
  const rec = await t.facesign.livekit!.recordings.startForAttempt(attempt.id);
  // Stopped once it records: a stop while egress is still starting aborts it (a failed recording).
  await eventually(async () => (await t.facesign.db.recording.findUniqueOrThrow({ where: { id: rec.id } })).state === 'ACTIVE');
  await t.facesign.livekit!.recordings.stopForAttempt(attempt.id);
  await t.sim!.control.settled();
  expect(t.sim!.control.webhookDeliveries().filter((d) => d.room === room && d.event === 'egress_ended').map((d) => d.status)).toEqual(['dropped']);
  const repaired = await eventually(async () => {
    const r = await t.facesign.db.recording.findUniqueOrThrow({ where: { id: rec.id } });
    // Repaired to UPLOADED, and from there the pipeline carries it on (finalize, retention).
    return ['UPLOADED', 'VERIFIED', 'RETAINED'].includes(r.state) ? r : undefined;
  }, 100);
  expect(repaired.reportedSize).toBeGreaterThan(0n);
  const transitions = await t.facesign.db.auditEvent.findMany({ where: { entityId: rec.id, action: 'recording.state_changed' }, orderBy: { seq: 'asc' } });
  expect(transitions.map((a) => a.data)).toContainEqual(expect.objectContaining({ to: 'UPLOADED', source: 'reconciler' }));
});
