// One outbound phone call, played out as livekit-sip does it. The SIP participant joins the room before
// the INVITE goes out (so participant_joined fires while `sip.callStatus` is `dialing`), then the status
// attribute moves to `ringing` on 180, `automation` while DTMF is sent, `active` on 200 OK and `hangup`
// when either side ends an answered call. Attribute changes produce no webhook. A call that fails leaves
// the room with a disconnect reason and keeps its last status attribute, as livekit-sip does.
import { DisconnectReason } from '@livekit/protocol';
import type { SimClock } from './clock.js';
import type { RoomManager } from './rooms.js';
import type { CallFailure } from './sip-errors.js';
import { callFailureError, leaveReasonFor } from './sip-errors.js';
import type { PartyScript, SipStatusLine } from './sip-scripts.js';
import { IMMEDIATE_FAILURE_AFTER_SECONDS, RINGING_STARTS_AFTER_SECONDS } from './sip-scripts.js';
import { TwirpError } from './twirp.js';

export type CallStatus = 'dialing' | 'ringing' | 'automation' | 'active' | 'hangup' | 'failed';

export interface SipCallSnapshot {
  callId: string;
  room: string;
  identity: string;
  participantSid: string;
  phoneNumber: string;
  trunkId: string;
  status: CallStatus;
  /** The final SIP status of a failed call, if the far end sent one. */
  sipStatus?: SipStatusLine;
  /** Why the call ended, in LiveKit's disconnect-reason vocabulary. */
  endReason?: string;
}

export interface CallDetails {
  callId: string;
  room: string;
  identity: string;
  participantSid: string;
  phoneNumber: string;
  trunkId: string;
  /** host[:port] of the trunk, named in transport errors. */
  trunkAddress: string;
}

export interface CallTiming {
  ringingTimeoutSeconds: number;
  /** Undefined when the request sets no limit. */
  maxCallDurationSeconds: number | undefined;
  dtmf: string;
}

const DTMF_SECONDS_PER_DIGIT = 0.25;

interface AnswerWaiter {
  resolve: () => void;
  reject: (error: TwirpError) => void;
}

export class OutboundCall {
  private status: CallStatus = 'dialing';
  private failure: CallFailure | undefined;
  private endReason: DisconnectReason | undefined;
  private readonly cancels: (() => void)[] = [];
  private waiters: AnswerWaiter[] = [];
  private dtmf = '';
  private readonly activeListeners: (() => void)[] = [];

  constructor(
    readonly details: CallDetails,
    private readonly rooms: RoomManager,
    private readonly clock: SimClock,
  ) {}

  snapshot(): SipCallSnapshot {
    const { callId, room, identity, participantSid, phoneNumber, trunkId } = this.details;
    const snapshot: SipCallSnapshot = { callId, room, identity, participantSid, phoneNumber, trunkId, status: this.status };
    if (this.failure?.kind === 'sip-status') snapshot.sipStatus = { ...this.failure.status };
    if (this.endReason !== undefined) snapshot.endReason = DisconnectReason[this.endReason];
    return snapshot;
  }

  /**
   * Plays the far end's script and LiveKit's own limits against each other. A trunk that fails before
   * any SIP exchange (`trunkFailure`) replaces the script: the call fails that way after `afterSeconds`.
   */
  start(script: PartyScript, timing: CallTiming, trunkFailure?: { failure: CallFailure; afterSeconds: number }): void {
    this.dtmf = timing.dtmf;
    this.schedule(timing.ringingTimeoutSeconds, () => this.fail({ kind: 'ringing-timeout' }));
    if (timing.maxCallDurationSeconds !== undefined) {
      this.schedule(timing.maxCallDurationSeconds, () => this.endAnswered(DisconnectReason.CLIENT_INITIATED));
    }
    if (trunkFailure) {
      this.schedule(trunkFailure.afterSeconds, () => this.fail(trunkFailure.failure));
      return;
    }
    const rings = script.outcome !== 'no-response' && (script.outcome !== 'reject' || script.afterSeconds !== undefined);
    if (rings) {
      this.schedule(RINGING_STARTS_AFTER_SECONDS, () => {
        if (this.status === 'dialing') this.setStatus('ringing');
      });
    }
    switch (script.outcome) {
      case 'answer':
        this.schedule(script.answerAfterSeconds, () => {
          this.answer();
          const hangUpAfter = script.hangUpAfterSeconds;
          if (hangUpAfter !== undefined) this.schedule(hangUpAfter + dtmfSeconds(timing.dtmf), () => this.remoteHangUp());
        });
        return;
      case 'reject':
        this.schedule(script.afterSeconds ?? IMMEDIATE_FAILURE_AFTER_SECONDS, () =>
          this.fail({ kind: 'sip-status', status: script.status }),
        );
        return;
      case 'no-response':
      case 'no-answer':
      case 'manual':
        return;
    }
  }

  /**
   * livekit-server stopped waiting for the answer (its 80 s limit): the request's context ends, and
   * livekit-sip ends a call that is still ringing with it.
   */
  abandonByServer(): void {
    if (this.isRinging()) this.fail({ kind: 'ringing-timeout' });
  }

  /** Resolves when the callee answers; rejects with the Twirp error LiveKit would return. */
  waitForAnswer(): Promise<void> {
    if (this.status === 'active' || this.status === 'hangup') return Promise.resolve();
    if (this.failure !== undefined) return Promise.reject(callFailureError(this.failure));
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** The callee picks up; livekit-sip then sends the request's DTMF digits before going active. */
  answer(): void {
    if (!this.isRinging()) throw new TwirpError('failed_precondition', `call ${this.details.callId} is ${this.status}`);
    if (this.dtmf !== '') {
      this.setStatus('automation');
      this.schedule(dtmfSeconds(this.dtmf), () => this.becomeActive());
    } else {
      this.becomeActive();
    }
  }

  /** The far end ends an answered call (BYE). */
  remoteHangUp(): void {
    if (this.status !== 'active' && this.status !== 'automation') {
      throw new TwirpError('failed_precondition', `call ${this.details.callId} is ${this.status}, not answered`);
    }
    this.endAnswered(DisconnectReason.CLIENT_INITIATED);
  }

  /** The far end answers the INVITE with a final error response. */
  reject(status: SipStatusLine): void {
    if (!this.isRinging()) throw new TwirpError('failed_precondition', `call ${this.details.callId} is ${this.status}`);
    this.fail({ kind: 'sip-status', status });
  }

  /**
   * The SIP participant was removed by the server (RemoveParticipant, DeleteRoom). livekit-sip sees its
   * room connection close: an unanswered INVITE is cancelled, an answered call gets a BYE.
   */
  participantRemoved(reason: DisconnectReason): void {
    if (this.isRinging()) {
      this.settle('failed', { kind: 'ringing-timeout' }, reason);
    } else if (this.status === 'active' || this.status === 'automation') {
      this.settle('hangup', undefined, reason);
    }
  }

  stop(): void {
    for (const cancel of this.cancels.splice(0)) cancel();
  }

  private isRinging(): boolean {
    return this.status === 'dialing' || this.status === 'ringing';
  }

  private becomeActive(): void {
    if (this.status !== 'dialing' && this.status !== 'ringing' && this.status !== 'automation') return;
    this.setStatus('active');
    for (const waiter of this.waiters.splice(0)) waiter.resolve();
    for (const listener of this.activeListeners.splice(0)) listener();
  }

  /**
   * Once the call is up, runs `task` at each of `seconds` (simulated, from then on) while it is still
   * up: what the party does during the conversation, such as pressing keys.
   */
  whileActive(seconds: readonly number[], task: () => void): void {
    this.activeListeners.push(() => {
      for (const at of seconds) this.schedule(at, () => {
        if (this.status === 'active') task();
      });
    });
  }

  private fail(failure: CallFailure): void {
    if (!this.isRinging()) return;
    const reason = leaveReasonFor(failure);
    this.settle('failed', failure, reason);
    this.leaveRoom(reason);
  }

  private endAnswered(reason: DisconnectReason): void {
    if (this.isRinging()) {
      // maxCallDuration also bounds dialing; LiveKit reports that as a timed-out INVITE.
      this.fail({ kind: 'ringing-timeout' });
      return;
    }
    if (this.status !== 'active' && this.status !== 'automation') return;
    this.setStatus('hangup');
    this.settle('hangup', undefined, reason);
    this.leaveRoom(reason);
  }

  private settle(status: 'failed' | 'hangup', failure: CallFailure | undefined, reason: DisconnectReason): void {
    this.status = status;
    this.failure = failure;
    this.endReason = reason;
    this.stop();
    const error = failure === undefined ? undefined : callFailureError(failure);
    for (const waiter of this.waiters.splice(0)) {
      if (error === undefined) waiter.resolve();
      else waiter.reject(error);
    }
  }

  private leaveRoom(reason: DisconnectReason): void {
    const { room, identity } = this.details;
    if (this.rooms.hasParticipant(room, identity)) this.rooms.leave(room, identity, reason);
  }

  private setStatus(status: Exclude<CallStatus, 'failed'>): void {
    if (this.status === 'failed' || this.status === 'hangup') return;
    this.status = status;
    this.rooms.updateAttributes(this.details.room, this.details.identity, { 'sip.callStatus': status });
  }

  private schedule(seconds: number, task: () => void): void {
    this.cancels.push(this.clock.after(seconds, task));
  }
}

function dtmfSeconds(dtmf: string): number {
  let seconds = 0;
  for (const digit of dtmf) seconds += digit === 'w' ? 0.5 : DTMF_SECONDS_PER_DIGIT;
  return seconds;
}
