// Public surface of the LiveKit simulator. See README.md.
export { startLiveKitSimulator } from './simulator.js';
export type { LiveKitSimulatorOptions, RunningLiveKitSimulator } from './simulator.js';
export { SimulatorControl } from './control.js';
export type { DisconnectReasonName, SimulatorState } from './control.js';
export type { PublishTrackInput } from './rooms.js';
export type { CallStatus, SipCallSnapshot } from './sip-call.js';
export type { PartyScript, SipStatusLine, TestNumber } from './sip-scripts.js';
export { TEST_NUMBERS, scriptForNumber } from './sip-scripts.js';
export { WEBHOOK_EVENT_NAMES } from './faults.js';
export type { EgressFault, TwirpFault, WebhookEventName, WebhookFault } from './faults.js';
export type { WebhookDelivery } from './webhooks.js';
export { TwirpError } from './twirp.js';
export type { TwirpCode } from './twirp.js';
