// The call contract: one list of phone scenarios that runs through the whole of facesign (an agent
// accepts the offer, facesign dials, the outcome drives the retry policy) against either LiveKit —
// the simulator, or the real livekit-server and livekit-sip calling a SIPp phone. Both must give the
// same outcome for every scenario. The numbers come from one table (dev/livekit-sim/sip-scripts.ts)
// that the simulator plays and the SIPp phone is generated from.
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { SIPTransport, type SIPOutboundTrunkInfo } from '@livekit/protocol';
import { SipClient } from 'livekit-server-sdk';
import { roomNameFor } from '../../server/livekit/identities.js';
import type { ApiClient } from './api-client.js';
import type { TestApp } from './harness.js';
import { eventually } from './fixtures.js';
import { auditLogOf, checklistOf, sessionOf, verifiedSessionOf } from './reads.js';
import { auditorOf, loanFileWithBorrower, onlineAgent, scheduleCall, stateOf, takeOffer } from './verification.js';

export type TrunkFault = 'dead-udp-port' | 'dead-tcp-port' | 'unresolvable-host' | 'sip-service-down';

export interface CallOutcome {
  dialOutcome: string | null;
  state: string;
  /** Whole minutes from the dial to the next attempt, when the session waits to retry. */
  retryInMinutes: number | null;
  /**
   * Whether facesign saw the phone ring (the session went through RINGING). Ringing is seen by asking
   * LiveKit while the call is placed, so it is part of the contract only where the phone rings for
   * seconds; a ring shorter than the poll interval may go unseen.
   */
  rang?: boolean;
}

export interface CallScenario {
  name: string;
  /** A number from the test-number table: the last two digits of 55501XX pick the behaviour. */
  phone: string;
  /** A fault of our own trunk instead of the party's phone. */
  trunk?: TrunkFault;
  /** 1 makes attempt accounting visible: a failure that counts exhausts the session, one that does not retries. */
  maxAttempts: number;
  expected: CallOutcome;
}

/** facesign's ringing timeout in these scenarios (seconds); the unanswered scenarios ring this long. */
export const CONTRACT_RINGING_TIMEOUT_SECONDS = 8;

const failed = (dialOutcome: string, state: 'RETRY_PENDING' | 'EXHAUSTED', retryInMinutes: number | null, rang?: boolean): CallOutcome => ({
  dialOutcome,
  state,
  retryInMinutes,
  ...(rang === undefined ? {} : { rang }),
});

export const CALL_SCENARIOS: readonly CallScenario[] = [
  { name: 'answered after ringing', phone: '+8613805550105', maxAttempts: 1, expected: { dialOutcome: 'ANSWERED', state: 'IN_PROGRESS', retryInMinutes: null, rang: true } },
  { name: 'busy', phone: '+8613805550120', maxAttempts: 2, expected: failed('BUSY', 'RETRY_PENDING', 10) },
  { name: 'busy on the last attempt: it counts against the party', phone: '+8613805550120', maxAttempts: 1, expected: failed('BUSY', 'EXHAUSTED', null) },
  { name: 'declined after ringing', phone: '+8613805550121', maxAttempts: 2, expected: failed('DECLINED', 'RETRY_PENDING', 120, true) },
  { name: 'invalid number', phone: '+8613805550130', maxAttempts: 3, expected: failed('INVALID_NUMBER', 'EXHAUSTED', null, false) },
  { name: 'rings, nobody answers', phone: '+8613805550122', maxAttempts: 2, expected: failed('NO_ANSWER', 'RETRY_PENDING', 30, true) },
  { name: '480 after ringing: the carrier gives up', phone: '+8613805550125', maxAttempts: 2, expected: failed('NO_ANSWER', 'RETRY_PENDING', 30, true) },
  { name: '480 before ringing: the phone cannot be reached', phone: '+8613805550140', maxAttempts: 2, expected: failed('CARRIER_FAILURE', 'RETRY_PENDING', 5, false) },
  { name: 'carrier 503', phone: '+8613805550141', maxAttempts: 2, expected: failed('CARRIER_FAILURE', 'RETRY_PENDING', 5, false) },
  { name: "carrier calls-per-second limit: not the party's", phone: '+8613805550151', maxAttempts: 1, expected: failed('RATE_LIMITED', 'RETRY_PENDING', 1, false) },
  { name: "carrier refuses our credentials: not the party's", phone: '+8613805550152', maxAttempts: 1, expected: failed('TRUNK_UNAVAILABLE', 'RETRY_PENDING', 1, false) },
  { name: "nothing answers the INVITE: not the party's", phone: '+8613805550150', maxAttempts: 1, expected: failed('TRUNK_UNAVAILABLE', 'RETRY_PENDING', 1, false) },
];

/** Faults of our own call path: none may use up the party's attempts (maxAttempts 1, still retrying). */
export const TRUNK_FAULT_SCENARIOS: readonly CallScenario[] = (['dead-udp-port', 'dead-tcp-port', 'unresolvable-host', 'sip-service-down'] as const).map((trunk) => ({
  name: `trunk fault: ${trunk}`,
  phone: '+8613805550101',
  trunk,
  maxAttempts: 1,
  expected: failed('TRUNK_UNAVAILABLE', 'RETRY_PENDING', 1, false),
}));

async function deadLoopbackPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * Breaks facesign's call path the way an operator could: the trunk facesign uses is edited through
 * LiveKit's own API (UpdateSIPOutboundTrunk), or LiveKit's SIP service goes away. undefined mends it.
 */
export function trunkFaults(t: TestApp, sipService: { down(): Promise<void>; up(): Promise<void> }): (fault: TrunkFault | undefined) => Promise<void> {
  const lk = t.facesign.config.livekit!;
  const sip = new SipClient(lk.url, lk.apiKey, lk.apiSecret);
  const trunkId = lk.sipTrunkId!;
  let original: SIPOutboundTrunkInfo | undefined;
  return async (fault) => {
    original ??= (await sip.listSipOutboundTrunk({ trunkIds: [trunkId] }))[0]!;
    if (fault === 'sip-service-down') return sipService.down();
    if (fault === undefined) {
      await sipService.up();
      await sip.updateSipOutboundTrunk(trunkId, original);
      return;
    }
    const broken = original.clone();
    broken.address = fault === 'unresolvable-host' ? 'carrier.invalid' : `127.0.0.1:${await deadLoopbackPort()}`;
    broken.transport = fault === 'dead-tcp-port' ? SIPTransport.SIP_TRANSPORT_TCP : SIPTransport.SIP_TRANSPORT_UDP;
    await sip.updateSipOutboundTrunk(trunkId, broken);
  };
}

/** Schedules a call to the scenario's number, lets an agent take it, and reads what facesign concluded. */
export async function runCallScenario(t: TestApp, los: ApiClient, scenario: CallScenario, skill: string): Promise<CallOutcome> {
  const agent = await onlineAgent(t, skill);
  try {
    const { loanFileId, partyId } = await loanFileWithBorrower(los, { phone: scenario.phone, product: skill });
    const sessionId = await scheduleCall(los, loanFileId, partyId, { maxAttempts: scenario.maxAttempts });
    await takeOffer(agent, sessionId);
    const session = await stateOf(t, sessionId, ['IN_PROGRESS', 'RETRY_PENDING', 'EXHAUSTED']);
    const attempt = (await verifiedSessionOf(los, loanFileId, sessionId)).attempts.reduce((a, b) => (b.number > a.number ? b : a));
    // storage: when the dial was claimed, the moment the retry delay counts from, which no API shows
    const { dialClaimedAt } = await t.facesign.db.attempt.findUniqueOrThrow({ where: { id: attempt.id }, select: { dialClaimedAt: true } });
    const transitions = await auditLogOf(await auditorOf(t), { entityType: 'session', entityId: sessionId, action: 'session.transitioned' });
    const outcome: CallOutcome = {
      dialOutcome: attempt.dialOutcome,
      state: session.state,
      retryInMinutes:
        session.state === 'RETRY_PENDING' && session.nextAttemptAt && dialClaimedAt
          ? Math.round((Date.parse(session.nextAttemptAt) - dialClaimedAt.getTime()) / 60_000)
          : null,
      ...('rang' in scenario.expected ? { rang: transitions.some((e) => (e.data as { to?: string }).to === 'RINGING') } : {}),
    };
    if (session.state !== 'EXHAUSTED') {
      await t.facesign.verification.scheduling.cancel(sessionId, 'scenario over', { actor: { type: 'SYSTEM' }, requestId: 'contract', scope: 'test' });
    }
    return outcome;
  } finally {
    agent.socket.close();
  }
}

/** What facesign concluded of an automated confirmation call: the contract compares these. */
export interface AutomatedOutcome {
  state: string;
  outcome: string | null;
  handOffReason: string | null;
  /** The answers the call stored, summarised so that timing cannot change them. */
  answers: string;
  /** Whether the bot played audio into the room (seconds of sound, not silence). */
  botSpoke: boolean;
}

export interface AutomatedScenario {
  name: string;
  phone: string;
  expected: AutomatedOutcome;
}

/** The shipped automated template's required items, in script order. */
export const AUTOMATED_REQUIRED_ITEMS = ['consent_recording', 'identity_phone_owner', 'willingness_self_applied', 'loan_amount_term', 'fees_rate_disclosure'];

export const AUTOMATED_SCENARIOS: readonly AutomatedScenario[] = [
  {
    name: 'automated: confirms every item on the keypad',
    phone: '+8613805550170',
    expected: { state: 'COMPLETED', outcome: 'PASSED', handOffReason: null, answers: 'all CONFIRMED', botSpoke: true },
  },
  {
    name: 'automated: denies, handed to a person',
    phone: '+8613805550171',
    expected: { state: 'SCHEDULED', outcome: null, handOffReason: 'DENIED', answers: 'consent_recording DENIED', botSpoke: true },
  },
  {
    name: 'automated: silence, handed to a person',
    phone: '+8613805550101',
    expected: { state: 'SCHEDULED', outcome: null, handOffReason: 'NO_INPUT', answers: 'consent_recording UNCLEAR', botSpoke: true },
  },
  {
    name: 'automated: hangs up mid-script, handed to a person',
    phone: '+8613805550172',
    expected: { state: 'SCHEDULED', outcome: null, handOffReason: 'HUNG_UP', answers: 'CONFIRMED until it stopped', botSpoke: true },
  },
];

function summariseAnswers(answers: { itemId: string; value: string }[]): string {
  const confirmed = answers.filter((a) => a.value === 'CONFIRMED').length;
  if (confirmed === answers.length && confirmed === AUTOMATED_REQUIRED_ITEMS.length) return 'all CONFIRMED';
  if (confirmed === answers.length && confirmed > 0) return 'CONFIRMED until it stopped';
  const last = answers.at(-1);
  return last ? `${last.itemId} ${last.value}` : 'none';
}

/**
 * Schedules an automated call to the scenario's number (the shipped call-automated template), waits
 * until it completed or was handed to a person, and reads what facesign stored. `botSpoke` tells how
 * the backend shows the bot's audio: the real room is listened to by the caller (once `answered`), the simulator keeps it.
 */
export async function runAutomatedScenario(t: TestApp, los: ApiClient, scenario: AutomatedScenario, product: string, botSpoke: (roomName: string, attemptId: string, answered: () => Promise<boolean>) => Promise<boolean>): Promise<AutomatedOutcome> {
  const { loanFileId, partyId } = await loanFileWithBorrower(los, { phone: scenario.phone, product });
  const sessionId = await scheduleCall(los, loanFileId, partyId, { templateKey: 'call-automated' });
  const attempt = await eventually(async () => (await verifiedSessionOf(los, loanFileId, sessionId)).attempts.find((a) => a.number === 1), 100);
  const answered = async () => (await verifiedSessionOf(los, loanFileId, sessionId)).attempts.find((a) => a.id === attempt.id)?.answeredAt != null;
  const spoke = botSpoke(roomNameFor(attempt.id), attempt.id, answered);
  const session = await eventually(async () => {
    const s = await sessionOf(los, sessionId);
    return s.state === 'COMPLETED' || s.handOffReason !== null || s.state === 'EXHAUSTED' ? s : undefined;
  }, 200);
  const items = (await checklistOf(await auditorOf(t), sessionId)).items;
  const answers = items.flatMap((i) => (i.answer ? [{ itemId: i.id, ...i.answer }] : [])).sort((a, b) => a.answeredAt.localeCompare(b.answeredAt));
  const outcome: AutomatedOutcome = { state: session.state, outcome: session.outcome, handOffReason: session.handOffReason, answers: summariseAnswers(answers), botSpoke: await spoke };
  if (session.state !== 'COMPLETED' && session.state !== 'EXHAUSTED') {
    await t.facesign.verification.scheduling.cancel(sessionId, 'scenario over', { actor: { type: 'SYSTEM' }, requestId: 'contract', scope: 'test' });
  }
  return outcome;
}
