// Supervisors' view: the live board, agents whose consoles all went (after a grace period their
// offers go elsewhere), alerts on failed recordings, and the operations metrics.
import type { FeatureContext } from '../infrastructure.js';
import { OperationsMetrics } from '../metrics/operations.service.js';
import type { RealtimeHandlers } from '../realtime/realtime.server.js';
import { AgentDepartures, type AgentRouting } from './agent-departures.service.js';
import { DEFAULT_SUPERVISION_SETTINGS, SupervisionService } from './supervision.service.js';
import { alertOnFailedRecordings } from './supervisor-alerts.js';

export function supervisionModule({ config, log, db, queues, presence, realtime, jobs, signals }: FeatureContext, { routing }: { routing: AgentRouting }) {
  const graceMs = config.verification.agentDisconnectGraceMs;
  const departures = new AgentDepartures({ db, presence, queues, realtime: realtime.emitter, isConnected: realtime.isConnected, routing, settings: { graceMs }, log });
  const supervision = new SupervisionService({ db, presence, connectedUsers: async () => {
    const sockets = await realtime.io.of('/agent').fetchSockets();
    return new Set(sockets.flatMap((socket) => {
      const userId = (socket.data as { principal?: { userId?: unknown } }).principal?.userId;
      return typeof userId === 'string' ? [userId] : [];
    }));
  }, settings: { ...DEFAULT_SUPERVISION_SETTINGS, disconnectGraceMs: graceMs } });
  signals.listen((signals) => alertOnFailedRecordings(db, realtime.emitter, signals));
  jobs.handle('agent-disconnect-grace', ({ agentId, leftAt }) => departures.graceOver(agentId, leftAt));
  const socketHandlers: Pick<RealtimeHandlers, 'onAgentLeft' | 'onAgentBack'> = {
    onAgentLeft: (userId, at) => departures.left(userId, at),
    onAgentBack: (userId) => departures.back(userId),
  };
  return { departures, supervision, operations: new OperationsMetrics(db), socketHandlers };
}
