// What LiveKit tells us, in facesign's terms: the same shapes whether it came from a webhook or
// from polling (reconciler), so both paths run the same update code.
import { EgressStatus, ParticipantInfo_Kind, type EgressInfo, type ParticipantInfo } from '@livekit/protocol';
import { roleOfIdentity, type ParticipantRole } from './identities.js';

/** `automation` is set while LiveKit sends DTMF digits after pick-up, before the call is `active`. */
export type SipCallStatus = 'dialing' | 'ringing' | 'automation' | 'active' | 'hangup';
export const SIP_CALL_STATUS_ORDER: readonly SipCallStatus[] = ['dialing', 'ringing', 'automation', 'active', 'hangup'];

export interface ObservedParticipant {
  identity: string;
  sid: string;
  role: ParticipantRole;
  isSip: boolean;
  /** Egress's recorder: it joins the room as a participant while it records, but is no person. */
  isRecorder: boolean;
  sipCallStatus: SipCallStatus | undefined;
  joinedAt: Date | undefined;
  tracks: string[];
}

export type ObservedEgressStatus = 'STARTING' | 'ACTIVE' | 'ENDING' | 'COMPLETE' | 'FAILED' | 'ABORTED' | 'LIMIT_REACHED';

export interface ObservedEgress {
  egressId: string;
  roomName: string;
  status: ObservedEgressStatus;
  error: string | undefined;
  startedAt: Date | undefined;
  endedAt: Date | undefined;
  file: { key: string; size: bigint; durationMs: number; location: string } | undefined;
}

const nsToDate = (ns: bigint): Date | undefined => (ns > 0n ? new Date(Number(ns / 1_000_000n)) : undefined);

function sipStatus(value: string | undefined): SipCallStatus | undefined {
  return SIP_CALL_STATUS_ORDER.find((s) => s === value);
}

export function observeParticipant(p: ParticipantInfo): ObservedParticipant {
  const joinedMs = p.joinedAtMs > 0n ? p.joinedAtMs : p.joinedAt * 1000n;
  return {
    identity: p.identity,
    sid: p.sid,
    role: roleOfIdentity(p.identity),
    isSip: p.kind === ParticipantInfo_Kind.SIP,
    isRecorder: p.kind === ParticipantInfo_Kind.EGRESS,
    sipCallStatus: sipStatus(p.attributes['sip.callStatus']),
    joinedAt: joinedMs > 0n ? new Date(Number(joinedMs)) : undefined,
    tracks: p.tracks.map((t) => t.sid),
  };
}

const STATUS: Record<EgressStatus, ObservedEgressStatus> = {
  [EgressStatus.EGRESS_STARTING]: 'STARTING',
  [EgressStatus.EGRESS_ACTIVE]: 'ACTIVE',
  [EgressStatus.EGRESS_ENDING]: 'ENDING',
  [EgressStatus.EGRESS_COMPLETE]: 'COMPLETE',
  [EgressStatus.EGRESS_FAILED]: 'FAILED',
  [EgressStatus.EGRESS_ABORTED]: 'ABORTED',
  [EgressStatus.EGRESS_LIMIT_REACHED]: 'LIMIT_REACHED',
};

export function observeEgress(info: EgressInfo): ObservedEgress {
  const legacy = info.result.case === 'file' ? info.result.value : undefined;
  const file = info.fileResults[0] ?? legacy;
  return {
    egressId: info.egressId,
    roomName: info.roomName,
    status: STATUS[info.status] ?? 'FAILED',
    error: info.error || undefined,
    startedAt: nsToDate(info.startedAt),
    endedAt: nsToDate(info.endedAt),
    file: file && file.filename
      ? { key: file.filename, size: file.size, durationMs: Number(file.duration / 1_000_000n), location: file.location }
      : undefined,
  };
}
