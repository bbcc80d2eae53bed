// Limits of LiveKit itself that facesign's settings must stay within.

/**
 * livekit-server waits at most this long for CreateSIPParticipant with wait_until_answered, then
 * answers deadline_exceeded while the phone may still ring (livekit-server pkg/service/sip.go).
 */
export const LIVEKIT_ANSWER_WAIT_SECONDS = 80;

/**
 * livekit-sip joins the room first and only then starts the ringing timer, so the ringing timeout
 * leaves 20 s of LiveKit's wait for that join and the INVITE's set-up.
 */
export const MAX_RINGING_TIMEOUT_SECONDS = 60;
