// Automated confirmation calls: an answered call's script runs on a worker node, in the call's
// LiveKit room; a party it cannot finish with is handed to a person.
import type { ChecklistService } from '../checklists/checklist.service.js';
import type { Infrastructure } from '../infrastructure.js';
import type { SessionEngine } from '../verification/session-engine.js';
import { AutomatedCalls } from './automated-call.service.js';
import type { CallRoomConnector } from './call-room.js';
import { RtcCallRoomConnector } from './rtc-call-room.js';
import { EspeakSynthesizer } from './speech.js';
import { EnergyVoiceDetector } from './speech-recognition.js';

export function automatedCallsModule(
  { config, log, db, queues, platform, events, jobs }: Infrastructure,
  { engine, checklists, callRoomConnector }: { engine: SessionEngine; checklists: ChecklistService; callRoomConnector: CallRoomConnector | undefined },
): AutomatedCalls {
  const callRooms = callRoomConnector ?? (config.livekit && config.console.media === 'livekit' ? new RtcCallRoomConnector(config.livekit.url.replace(/^http/, 'ws'), log) : undefined);
  const { answerTimeoutMs, maxRepeats, recordingWaitMs } = config.automatedCalls;
  const automatedCalls = new AutomatedCalls({
    db, engine, checklists, queues, log,
    media: platform && callRooms ? { platform, connector: callRooms } : undefined,
    synthesizer: new EspeakSynthesizer(config.automatedCalls.tts),
    recognizer: () => new EnergyVoiceDetector(),
    settings: { answerTimeoutMs, maxRepeats, recordingWaitMs },
  });
  events.subscribeCommitted('call.answered', ({ sessionId, attemptId }) => automatedCalls.answered(sessionId, attemptId));
  jobs.handle('automated-call', async ({ sessionId, attemptId }) => void (await automatedCalls.run(sessionId, attemptId)));
  jobs.sweep('automated-calls', async () => void (await automatedCalls.sweep()));
  return automatedCalls;
}
