// Names facesign gives things in LiveKit. They carry ids only — never a name or a phone number —
// because LiveKit, its logs and its webhooks sit outside facesign's data-protection boundary.
export type ParticipantRole = 'AGENT' | 'PARTY' | 'OTHER';

const ROOM_PREFIX = 'fs-';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export const roomNameFor = (attemptId: string): string => `${ROOM_PREFIX}${attemptId}`;

export function attemptIdFromRoom(roomName: string): string | undefined {
  const id = roomName.startsWith(ROOM_PREFIX) ? roomName.slice(ROOM_PREFIX.length) : '';
  return UUID.test(id) ? id : undefined;
}

export const agentIdentity = (userId: string): string => `agent-${userId}`;
/** The borrower joining by video link. */
export const partyIdentity = (attemptId: string): string => `party-${attemptId}`;
/** The borrower's phone, dialled through SIP. */
export const sipPartyIdentity = (attemptId: string): string => `sip-${attemptId}`;

export function roleOfIdentity(identity: string): ParticipantRole {
  if (identity.startsWith('agent-')) return 'AGENT';
  if (identity.startsWith('party-') || identity.startsWith('sip-')) return 'PARTY';
  return 'OTHER';
}

/** recordings/<loanFile>/<session>/<attempt>.<ext> */
export function recordingKey(ids: { loanFileId: string; sessionId: string; attemptId: string }, audioOnly: boolean): string {
  return `recordings/${ids.loanFileId}/${ids.sessionId}/${ids.attemptId}.${audioOnly ? 'ogg' : 'mp4'}`;
}
