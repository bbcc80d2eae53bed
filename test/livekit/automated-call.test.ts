// Automated confirmation calls on the real stack: facesign dials the SIPp phone through real
// livekit-sip, its server-side participant (@livekit/rtc-node) joins the room, speaks the checklist
// with espeak-ng and reads the keys the phone presses (RFC 2833 events from a generated pcap, which
// livekit-sip turns into SIP DTMF). The bot speaks only once the recording runs (the stack's audio
// egress stand-in, egress-standin.test.ts checks the file it stores); here a listener also subscribes to
// the bot's track in the room and measures its sound.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RoomServiceClient } from 'livekit-server-sdk';
import { botIdentity } from '../../server/automated-calls/call-room.js';
import { roomNameFor } from '../../server/livekit/identities.js';
import { listenToBot } from '../support/bot-listener.js';
import { eventually } from '../support/fixtures.js';
import type { ApiClient } from '../support/api-client.js';
import { startTestApp, type TestApp } from '../support/harness.js';
import { attemptOf, auditEventsOf, checklistOf, reviewFileOf, sessionOf, verifiedSessionOf } from '../support/reads.js';
import { ALWAYS_OPEN, loanFileWithBorrower, losClient, onlineAgent, scheduleCall, stateOf } from '../support/verification.js';

let app: TestApp;
let los: ApiClient;
let auditor: ApiClient;
const REQUIRED = ['consent_recording', 'identity_phone_owner', 'willingness_self_applied', 'loan_amount_term', 'fees_rate_disclosure'];

beforeAll(async () => {
  app = await startTestApp({ ...ALWAYS_OPEN, AUTOMATED_CALL_ANSWER_TIMEOUT_SECONDS: '4', AUTOMATED_CALL_TTS_WORDS_PER_MINUTE: '260' }, { livekit: 'real' });
  los = await losClient(app);
  auditor = await app.signIn({ roles: ['AUDITOR'] });
});
afterAll(async () => {
  await app?.stop();
});

async function automatedCall(phone: string, product: string, locale: 'zh-CN' | 'en' = 'zh-CN') {
  const { loanFileId, partyId } = await loanFileWithBorrower(los, { phone, product, locale });
  const sessionId = await scheduleCall(los, loanFileId, partyId, { templateKey: 'call-automated' });
  return sessionId;
}

/** The session's latest attempt once the call is up, as the loan file's verification shows it, with its room. */
async function liveAttempt(sessionId: string) {
  await stateOf(app, sessionId, 'IN_PROGRESS');
  const { loanFileId } = await sessionOf(los, sessionId);
  const attempt = (await verifiedSessionOf(los, loanFileId, sessionId)).attempts.reduce((a, b) => (b.number > a.number ? b : a));
  return { ...attempt, loanFileId, roomName: roomNameFor(attempt.id) };
}

/** The answers given so far, in the order they were given. */
async function answersOf(sessionId: string) {
  const items = (await checklistOf(auditor, sessionId)).items;
  return items.flatMap((i) => (i.answer ? [{ itemId: i.id, ...i.answer }] : [])).sort((a, b) => a.answeredAt.localeCompare(b.answeredAt));
}

describe('an automated confirmation call on the real LiveKit SIP', () => {
  it('passes by keypad: every item spoken and confirmed with 1, stored like an agent\'s with offsets, the session PASSED', async () => {
    // +86 138 0555 0170 answers and presses 1 every 1.5 s.
    const sessionId = await automatedCall('+8613805550170', 'auto-pass', 'en');
    const attempt = await liveAttempt(sessionId);
    // storage: which agent an attempt went to is not in the API
    expect((await app.facesign.db.attempt.findUniqueOrThrow({ where: { id: attempt.id }, select: { agentId: true } })).agentId).toBeNull();
    const listener = await listenToBot(app.real!, attempt.roomName, attempt.id);
    try {
      const rooms = new RoomServiceClient(app.real!.url, app.real!.apiKey, app.real!.apiSecret);
      const bot = await eventually(async () => (await rooms.listParticipants(attempt.roomName)).find((p) => p.identity === botIdentity(attempt.id) && p.tracks.length > 0), 200);
      expect(bot.tracks.map((t) => t.type)).toEqual([0]); // one AUDIO track

      const session = await stateOf(app, sessionId, ['COMPLETED', 'SCHEDULED']);
      expect({ state: session.state, outcome: session.outcome, handOffReason: session.handOffReason }).toEqual({ state: 'COMPLETED', outcome: 'PASSED', handOffReason: null });
      // The prompts went into the room as sound, not silence.
      expect(listener.heard.frames).toBeGreaterThan(500);
      expect(listener.heard.maxRms).toBeGreaterThan(0.02);
    } finally {
      await listener.leave();
    }
    const answers = await answersOf(sessionId);
    expect(answers.map((a) => [a.itemId, a.value, a.answeredBy])).toEqual(REQUIRED.map((id) => [id, 'CONFIRMED', 'AUTOMATED_CALL']));
    const offsets = answers.map((a) => a.offsetMs!);
    expect(offsets.every((o) => o > 0)).toBe(true);
    expect([...offsets].sort((a, b) => a - b)).toEqual(offsets);
    const audited = (await auditEventsOf(auditor, sessionId)).filter((e) => e.entityId === sessionId && e.action === 'checklist.answered');
    expect(audited.map((e) => `${e.actorType}:${e.actorId}`)).toEqual(REQUIRED.map(() => 'SYSTEM:automated-call'));
    expect((await attemptOf(los, attempt.loanFileId, sessionId, attempt.id)).recording).not.toBeNull();
  });

  it('hands a denial to a person: the item is DENIED and the call is offered to a free agent at once', async () => {
    const agent = await onlineAgent(app, 'auto-deny');
    try {
      // +86 138 0555 0171 presses 2 every 1.5 s.
      const sessionId = await automatedCall('+8613805550171', 'auto-deny');
      const offered = agent.socket.next('offer:new', (p) => p.sessionId === sessionId);
      const attempt = await liveAttempt(sessionId);
      const offer = await offered;
      const { session } = await reviewFileOf(auditor, sessionId);
      expect({ mode: session.mode, handOffReason: session.handOffReason, handedOff: session.handedOffAt !== null }).toEqual({ mode: 'AUTOMATED_CALL', handOffReason: 'DENIED', handedOff: true });
      expect(offer.sessionId).toBe(sessionId);
      // Nobody was offered the call while the automated part ran: the first offer follows the hand-off.
      // storage: every offer ever made for the session; the agents' API lists only their pending ones
      const offers = await app.facesign.db.sessionOffer.findMany({ where: { sessionId } });
      expect(offers.length).toBeGreaterThan(0);
      expect(offers.every((o) => o.offeredAt >= new Date(session.handedOffAt!))).toBe(true);
      const answers = await answersOf(sessionId);
      expect(answers.map((a) => [a.itemId, a.value])).toEqual([['consent_recording', 'DENIED']]);
      const ended = await attemptOf(los, attempt.loanFileId, sessionId, attempt.id);
      expect(ended.endReason).toBe('handed_to_person');
      await app.facesign.verification.scheduling.cancel(sessionId, 'test over', { actor: { type: 'SYSTEM' }, requestId: 'test', scope: 'test' });
    } finally {
      agent.socket.close();
    }
  });

  it('hands silence to a person: no key within the timeout is UNCLEAR', async () => {
    // +86 138 0555 0101 answers after 1 s and never presses a key.
    const sessionId = await automatedCall('+8613805550101', 'auto-silent');
    await liveAttempt(sessionId);
    const session = await eventually(async () => {
      const s = await sessionOf(los, sessionId);
      return s.handOffReason ? s : undefined;
    }, 200);
    expect({ state: session.state, handOffReason: session.handOffReason }).toEqual({ state: 'SCHEDULED', handOffReason: 'NO_INPUT' });
    const answers = await answersOf(sessionId);
    expect(answers.map((a) => [a.itemId, a.value])).toEqual([['consent_recording', 'UNCLEAR']]);
    expect(answers[0]!.note).toMatch(/^automated call: no key pressed within 4 s/);
    await app.facesign.verification.scheduling.cancel(sessionId, 'test over', { actor: { type: 'SYSTEM' }, requestId: 'test', scope: 'test' });
  });

  it('hands a hang-up mid-script to a person, keeping what was answered', async () => {
    // +86 138 0555 0172 presses 1 every 1.5 s and hangs up after 40 s of talk: after the first question, before the last.
    const sessionId = await automatedCall('+8613805550172', 'auto-hangup');
    await liveAttempt(sessionId);
    const session = await eventually(async () => {
      const s = await sessionOf(los, sessionId);
      return s.handOffReason ? s : undefined;
    }, 200);
    expect({ state: session.state, handOffReason: session.handOffReason }).toEqual({ state: 'SCHEDULED', handOffReason: 'HUNG_UP' });
    const answers = await answersOf(sessionId);
    expect(answers.length).toBeGreaterThan(0);
    expect(answers.length).toBeLessThan(REQUIRED.length);
    expect(answers.every((a) => a.value === 'CONFIRMED')).toBe(true);
    await app.facesign.verification.scheduling.cancel(sessionId, 'test over', { actor: { type: 'SYSTEM' }, requestId: 'test', scope: 'test' });
  });
});
