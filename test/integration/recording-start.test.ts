// Starting a recording is a job of its own ('recording-start'), queued after the transition that
// answers a call: an egress slow to start holds neither the dial job nor its slot. The job is tried
// twice and then alerts supervisors; a start job lost before it reached Redis is queued again by the
// recordings' step of the session sweep, which binds an egress LiveKit already runs instead of
// starting a second one.
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ApiClient } from '../support/api-client.js';
import { connectAgent, type AgentSocket } from '../support/agent-socket.js';
import { createAttempt, eventually } from '../support/fixtures.js';
import { startTestApp, type TestApp } from '../support/harness.js';
import { ALWAYS_OPEN, loanFileWithBorrower, losClient, onlineAgent, scheduleCall, stateOf, takeOffer } from '../support/verification.js';
import { recordingKey } from '../../server/livekit/identities.js';
import { recordingStartJobId } from '../../recordings/recording.service.js';

let t: TestApp;
let los: ApiClient;
let supervisorSocket: AgentSocket;

beforeAll(async () => {
  t = await startTestApp({ ...ALWAYS_OPEN }, { livekit: true });
  los = await losClient(t);
  supervisorSocket = await connectAgent(t.url, await t.signIn({ roles: ['SUPERVISOR'] }));
});
afterEach((ctx) => {
  if (ctx.task.result?.state === 'fail') console.log(t.logs.slice(-20).join('\n'));
});
afterAll(async () => {
  supervisorSocket?.close();
  await t?.stop();
});

const cancel = (sessionId: string) => t.facesign.verification.scheduling.cancel(sessionId, 'test over', { actor: { type: 'SYSTEM' }, requestId: 'test', scope: 'test' });
const jobState = (name: 'session-dial' | 'recording-start', jobId: string) => t.facesign.queues.queue(name).getJobState(jobId);
// storage: whether a recording row exists and has its egress bound is the start job's own bookkeeping, which no API shows
const recordingOf = (attemptId: string) => t.facesign.db.recording.findUnique({ where: { attemptId } });
const egressesOf = (room: string) => t.sim!.control.state().egress.filter((e) => e.info.roomName === room).map((e) => e.info);

/** Runs the periodic session sweep now (every feature's step), as its schedule would. */
async function sweepNow(): Promise<void> {
  const jobId = `sweep-test-${randomUUID()}`;
  await t.facesign.queues.enqueue('session-sweep', {}, { jobId });
  await eventually(async () => (await t.facesign.queues.queue('session-sweep').getJobState(jobId)) === 'completed', 50);
}

/** An answered call whose recording was asked for two minutes ago, as the engine's transition leaves it. */
async function answeredCall() {
  const fx = await createAttempt(t.facesign.db, { kind: 'CALL' });
  const askedAt = new Date(Date.now() - 120_000);
  await t.facesign.db.attempt.update({ where: { id: fx.attempt.id }, data: { answeredAt: askedAt, recordingStartedAt: askedAt, dialOutcome: 'ANSWERED' } });
  await t.facesign.livekit!.platform.createRoom({ name: fx.room, maxParticipants: 3, metadata: { sessionId: fx.session.id, attemptId: fx.attempt.id } });
  return fx;
}

describe('recording start', () => {
  it('frees the dial job before a slow egress start returns, and records the call once it does', async () => {
    const agent = await onlineAgent(t, 'rec-start-slow');
    try {
      // LiveKit holds the egress request 6 s (600 simulated seconds), as a stack whose egress is slow to answer.
      t.sim!.control.injectTwirpFault({ service: 'Egress', method: 'StartRoomCompositeEgress', delaySeconds: 600, count: 1 });
      const { loanFileId, partyId } = await loanFileWithBorrower(los, { phone: '+8613805550100', product: 'rec-start-slow' });
      const sessionId = await scheduleCall(los, loanFileId, partyId);
      await takeOffer(agent, sessionId);
      await stateOf(t, sessionId, 'IN_PROGRESS');
      // storage: the attempt's id names its dial and recording-start jobs
      const attempt = await t.facesign.db.attempt.findFirstOrThrow({ where: { sessionId } });

      // The dial job is over while LiveKit still holds the recording request.
      await eventually(async () => (await jobState('session-dial', `dial-${attempt.id}`)) === 'completed');
      const pending = await recordingOf(attempt.id);
      expect(pending?.egressId ?? null).toBeNull();
      expect(['waiting', 'active']).toContain(await jobState('recording-start', recordingStartJobId(attempt.id)));
      expect(egressesOf(attempt.roomName)).toHaveLength(0);

      // Then the request returns and the call is recorded, by one egress.
      const recorded = await eventually(async () => {
        const r = await recordingOf(attempt.id);
        return r?.egressId ? r : undefined;
      }, 100);
      expect(recorded.state).toMatch(/REQUESTED|ACTIVE/);
      expect(egressesOf(attempt.roomName)).toHaveLength(1);
      await eventually(async () => (await jobState('recording-start', recordingStartJobId(attempt.id))) === 'completed');
      await cancel(sessionId);
    } finally {
      agent.socket.close();
    }
  });

  it('tries a failed start once more, then alerts supervisors', async () => {
    const agent = await onlineAgent(t, 'rec-start-fail');
    try {
      t.sim!.control.injectTwirpFault({ service: 'Egress', method: 'StartRoomCompositeEgress', count: 2 });
      const { loanFileId, partyId } = await loanFileWithBorrower(los, { phone: '+8613805550100', product: 'rec-start-fail' });
      const sessionId = await scheduleCall(los, loanFileId, partyId);
      await takeOffer(agent, sessionId);
      const alert = await supervisorSocket.next('alert', (p) => p.sessionId === sessionId);
      expect(alert).toMatchObject({ kind: 'recording_not_started' });
      // storage: the attempt's id names its recording-start job
      const attempt = await t.facesign.db.attempt.findFirstOrThrow({ where: { sessionId } });
      const job = await t.facesign.queues.queue('recording-start').getJob(recordingStartJobId(attempt.id));
      expect({ state: await job?.getState(), tries: job?.attemptsMade }).toEqual({ state: 'failed', tries: 2 });
      expect((await recordingOf(attempt.id))?.egressId ?? null).toBeNull();
      await cancel(sessionId);
    } finally {
      agent.socket.close();
    }
  });

  it('asks again, on the sweep, for a recording whose start job was lost, binding an egress LiveKit already runs', async () => {
    // A start that failed twice (and alerted) is not asked for again by every sweep.
    const failed = await answeredCall();
    t.sim!.control.injectTwirpFault({ service: 'Egress', method: 'StartRoomCompositeEgress', count: 2 });
    await t.facesign.queues.enqueue('recording-start', { sessionId: failed.session.id, attemptId: failed.attempt.id }, { jobId: recordingStartJobId(failed.attempt.id) });
    await eventually(async () => (await jobState('recording-start', recordingStartJobId(failed.attempt.id))) === 'failed', 100);
    // (Rooms close after 3 s empty at the simulator's pace: the calls below are set up just before the sweep.)
    // Lost between commit and enqueue: the attempt says a recording was asked for, nothing else exists.
    const lost = await answeredCall();
    // Lost after LiveKit started the egress and before its id was saved (the row still waits for it).
    const half = await answeredCall();
    const objectKey = recordingKey({ loanFileId: half.loanFile.id, sessionId: half.session.id, attemptId: half.attempt.id }, true);
    await t.facesign.db.recording.create({ data: { attemptId: half.attempt.id, audioOnly: true, objectKey } });
    const running = await t.facesign.livekit!.platform.startRecording({ room: half.room, audioOnly: true, objectKey });
    // A call that ended before its job ran is not recorded.
    const ended = await answeredCall();
    await t.facesign.db.attempt.update({ where: { id: ended.attempt.id }, data: { endedAt: new Date() } });
    await t.facesign.queues.enqueue('recording-start', { sessionId: ended.session.id, attemptId: ended.attempt.id }, { jobId: recordingStartJobId(ended.attempt.id) });
    await eventually(async () => (await jobState('recording-start', recordingStartJobId(ended.attempt.id))) === 'completed');

    await sweepNow();
    const repaired = await eventually(async () => {
      const r = await recordingOf(lost.attempt.id);
      return r?.egressId ? r : undefined;
    }, 50);
    expect(egressesOf(lost.room)).toHaveLength(1);
    expect(repaired.egressId).toBe(egressesOf(lost.room)[0]!.egressId);
    const bound = await eventually(async () => {
      const r = await recordingOf(half.attempt.id);
      return r?.egressId ? r : undefined;
    }, 50);
    expect(bound.egressId).toBe(running.egressId);
    expect(egressesOf(half.room)).toHaveLength(1);
    expect(egressesOf(failed.room)).toHaveLength(0);
    expect(await jobState('recording-start', recordingStartJobId(failed.attempt.id))).toBe('failed');
    expect(await recordingOf(ended.attempt.id)).toBeNull();
    expect(egressesOf(ended.room)).toHaveLength(0);
  });
});
