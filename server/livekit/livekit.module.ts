// LiveKit's side of a session: webhook intake, event processing, the reconciler that repairs lost
// webhooks, and egress (recordings). Without LiveKit configured, its jobs have nothing to do.
import { randomUUID } from 'node:crypto';
import type { Infrastructure } from '../infrastructure.js';
import { RecordingService } from '../../recordings/recording.service.js';
import { eventJobId, LiveKitEventIntake, LiveKitEventProcessor } from './livekit-events.service.js';
import { LiveKitReconciler } from './reconciler.service.js';
import type { VideoPlatform } from './video-platform.js';
import { LiveKitWebhookVerifier } from './webhook-verifier.js';

export interface LiveKit {
  platform: VideoPlatform;
  processor: LiveKitEventProcessor;
  reconciler: LiveKitReconciler;
  recordings: RecordingService;
}

export function livekitModule({ config, log, db, queues, platform, eventLag, jobs, signals }: Infrastructure): { livekit: LiveKit | undefined; intake: LiveKitEventIntake | undefined } {
  let livekit: LiveKit | undefined;
  let intake: LiveKitEventIntake | undefined;
  if (config.livekit && platform) {
    const processor = new LiveKitEventProcessor(db, signals.emit, eventLag);
    const recordings = new RecordingService(db, platform);
    const reconciler = new LiveKitReconciler({ db, platform, processor, recordings, onSignals: signals.emit, log });
    livekit = { platform, processor, reconciler, recordings };
    intake = new LiveKitEventIntake({ db, queues, verifier: new LiveKitWebhookVerifier(config.livekit.apiKey, config.livekit.apiSecret), log, lag: eventLag });
    jobs.repeat('livekit-reconcile', config.jobs.reconcileIntervalMs);
  }
  jobs.handle('livekit-event', async ({ eventId }) => void (await livekit?.processor.process(eventId)));
  jobs.handle('livekit-events', async ({ eventIds }) => {
    // A fresh job id for each hand-off: an earlier job for the same event may still be kept.
    await livekit?.processor.processBatch(eventIds, (eventId) => queues.enqueue('livekit-event', { eventId }, { jobId: `${eventJobId(eventId)}-${randomUUID().slice(0, 8)}`, delayMs: 1_000 }));
  });
  jobs.handle('livekit-reconcile', async () => void (await livekit?.reconciler.runOnce()));
  return { livekit, intake };
}
