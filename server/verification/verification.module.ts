// Sessions: the engine (state machine writes), dispatch to agents, the borrower's join flow,
// scheduling, the session jobs, contract presentation, and the agent desk. The socket reactions it
// owns are handed back for realtime.attach().
import type { BorrowerLinks } from '../auth/borrower-links.service.js';
import type { FeatureContext } from '../infrastructure.js';
import type { LiveKit } from '../livekit/livekit.module.js';
import type { ContractService } from '../loan-files/contracts.service.js';
import type { LosWebhookService } from '../loan-files/los-webhooks.service.js';
import { HttpNotifier, LogNotifier, type Notifier } from '../notifications/notifier.js';
import type { RealtimeHandlers } from '../realtime/realtime.server.js';
import { ContractPresentation } from './contract-presentation.service.js';
import { DeskService } from './desk.service.js';
import { Dispatcher } from './dispatcher.js';
import { PartyJoinService } from './party-join.service.js';
import { SchedulingService } from './scheduling.service.js';
import { SessionEngine } from './session-engine.js';
import { SessionJobs } from './session-jobs.js';

export interface VerificationNeeds {
  livekit: LiveKit | undefined;
  los: LosWebhookService;
  contracts: ContractService;
  links: BorrowerLinks;
}

export function verificationModule(ctx: FeatureContext, { livekit, los, contracts, links }: VerificationNeeds) {
  const { config, log, db, redis, queues, platform, presence, realtime, events, jobs, signals } = ctx;
  const v = config.verification;
  const livekitUrl = config.livekit ? config.console.livekitPublicUrl : undefined;
  const notifier: Notifier = config.notifier.kind === 'http' ? new HttpNotifier(config.notifier.url, config.notifier.token) : new LogNotifier(log, config.env !== 'production');
  const engine = new SessionEngine({ db, queues, realtime: realtime.emitter, los, media: livekit ? { platform: livekit.platform, recordings: livekit.recordings } : undefined, settings: { noShowTimeoutMs: v.noShowTimeoutMs }, log, events });
  const dispatcher = new Dispatcher({ db, engine, presence, queues, realtime: realtime.emitter, platform, settings: { offerTimeoutMs: v.offerTimeoutMs, callingHours: v.callingHours, livekitUrl }, log });
  const contractPresentation = new ContractPresentation({ db, redis, contracts, emitter: realtime.emitter });
  const partyJoin = new PartyJoinService({
    db, links, engine, dispatcher, queues, notifier, platform, log,
    settings: { callingHours: v.callingHours, publicUrl: config.http.publicUrl, linkTtlMs: v.linkTtlMs, otpTtlMs: v.otp.ttlMs, livekitUrl },
    onSigned: (session) => contractPresentation.signed(session),
  });
  const sessionJobs = new SessionJobs({
    db, engine, dispatcher, queues, platform, events, log, inviter: partyJoin,
    settings: { callingHours: v.callingHours, reconnectGraceMs: v.reconnectGraceMs, workerLockMs: config.jobs.lockMs, ringingTimeoutMs: (config.livekit?.ringingTimeoutSeconds ?? 30) * 1000 },
  });
  const scheduling = new SchedulingService({ db, engine, queues, settings: { callingHours: v.callingHours, maxDialAttempts: v.maxDialAttempts }, inviter: partyJoin });

  events.subscribeCommitted('routing.needed', async () => void (await dispatcher.fill()));
  signals.listen((signals) => sessionJobs.onLiveKitSignals(signals));
  sessionJobs.register(jobs);
  jobs.handle('offer-timeout', ({ offerId }) => dispatcher.expire(offerId));
  jobs.handle('session-reminder', ({ sessionId, reminder }) => partyJoin.remind(sessionId, reminder));
  jobs.repeat('session-sweep', config.jobs.reconcileIntervalMs);

  const socketHandlers: Pick<RealtimeHandlers, 'onPresenceChanged' | 'authenticateParty' | 'onPartyConnected' | 'onContractPresent' | 'onPartyContractPage'> = {
    onPresenceChanged: async (userId, presence) => {
      const changed = { v: 1, agentId: userId, presence } as const;
      realtime.emitter.toSupervisors('presence:changed', changed);
      // The agent's other consoles (another tab) show it too.
      realtime.emitter.toAgent(userId, 'presence:changed', changed);
      if (presence === 'available') await dispatcher.fill();
      else await dispatcher.withdrawFrom(userId);
    },
    authenticateParty: async (linkToken, partyToken) => (await links.authenticateParty(linkToken, partyToken)).session.id,
    onPartyConnected: async (sessionId) => {
      const position = await dispatcher.waitingPosition(sessionId);
      if (position > 0) realtime.emitter.toParty(sessionId, 'waiting:position', { v: 1, position });
    },
    onContractPresent: async (principal, sessionId, page, requestId) => void (await contractPresentation.present(sessionId, page, principal, requestId)),
    onPartyContractPage: (sessionId, page) => contractPresentation.partyViewing(sessionId, page),
  };
  return { engine, dispatcher, partyJoin, sessionJobs, scheduling, contractPresentation, desk: new DeskService(db), socketHandlers };
}
