// When an agent's consoles are all gone. A reload or a network blip comes back within seconds: the
// agent keeps the status they chose and their sessions carry on. Only new offers stop at once (there
// is no desk to show them on). If no console is back when the grace period ends, the agent is away,
// and every session they were in is recorded in the audit log (which the board's alerts are read
// from) and announced to supervisors. The session itself is left alone: the party may still be on
// the line, so a supervisor decides whether to reassign it or end it.
import type { Db } from '../db/client.js';
import type { Logger } from '../logging.js';
import { appendAudit } from '../audit/audit.service.js';
import type { JobQueues } from '../jobs/queues.js';
import type { RealtimeEmitter } from '../realtime/events.js';
import type { PresenceService } from '../realtime/presence.js';
import { AGENT_BUSY_STATES } from './supervision.service.js';

export interface AgentRouting {
  /** The agent's pending offers go to someone else. */
  withdrawFrom(agentId: string): Promise<unknown>;
  /** Offers waiting sessions to available agents. */
  fill(): Promise<unknown>;
}

export interface AgentDeparturesOptions {
  db: Db;
  presence: PresenceService;
  queues: JobQueues;
  realtime: RealtimeEmitter;
  /** Is a console of this agent's connected now, on any node? */
  isConnected: (agentId: string) => Promise<boolean>;
  routing: AgentRouting;
  settings: { graceMs: number };
  log: Logger;
}

export class AgentDepartures {
  private readonly db: Db;
  private readonly presence: PresenceService;
  private readonly queues: JobQueues;
  private readonly realtime: RealtimeEmitter;
  private readonly isConnected: (agentId: string) => Promise<boolean>;
  private readonly routing: AgentRouting;
  private readonly settings: { graceMs: number };
  private readonly log: Logger;

  constructor(options: AgentDeparturesOptions) {
    this.db = options.db;
    this.presence = options.presence;
    this.queues = options.queues;
    this.realtime = options.realtime;
    this.isConnected = options.isConnected;
    this.routing = options.routing;
    this.settings = options.settings;
    this.log = options.log;
  }

  /** The agent's last console went at `at` (the gone mark is set): check again when the grace period ends. */
  async left(agentId: string, at: number): Promise<void> {
    await this.queues.enqueue('agent-disconnect-grace', { agentId, leftAt: at }, { jobId: `agent-gone-${agentId}-${at}`, delayMs: this.settings.graceMs });
    await this.routing.withdrawFrom(agentId);
  }

  /** A console is back within the grace period: routing counts the agent again. */
  async back(agentId: string): Promise<void> {
    if ((await this.presence.chosen(agentId)) === 'available') await this.routing.fill();
  }

  /** The grace-period job. Idempotent: a retry neither alerts twice nor changes a returned agent. */
  async graceOver(agentId: string, leftAt: number): Promise<void> {
    const record = (await this.presence.records([agentId])).get(agentId);
    if (record?.goneSince !== leftAt) return;
    if (await this.isConnected(agentId)) {
      // The console came back without clearing the mark (it connected while the departure was being recorded).
      if (await this.presence.markBack(agentId)) await this.back(agentId);
      return;
    }
    const leftAtIso = new Date(leftAt).toISOString();
    const sessions = await this.db.verificationSession.findMany({
      where: { assignedAgentId: agentId, state: { in: [...AGENT_BUSY_STATES] } },
      select: { id: true, state: true, loanFile: { select: { externalRef: true } } },
    });
    for (const session of sessions) {
      const recorded = await this.db.$transaction(async (tx) => {
        const earlier = await tx.auditEvent.findFirst({
          where: { entityId: session.id, action: 'session.agent_disconnected', data: { path: ['leftAt'], equals: leftAtIso } },
          select: { id: true },
        });
        if (earlier) return false;
        await appendAudit(tx, {
          actor: { type: 'SYSTEM', id: 'presence' },
          entity: { type: 'session', id: session.id },
          event: { action: 'session.agent_disconnected', v: 1, data: { agentId, state: session.state, leftAt: leftAtIso } },
        });
        return true;
      });
      if (!recorded) continue;
      this.log.warn({ agentId, sessionId: session.id, state: session.state }, 'an agent left a session and did not come back');
      this.realtime.toSupervisors('alert', {
        v: 1,
        kind: 'agent_disconnected',
        sessionId: session.id,
        message: `The agent's console closed during ${session.loanFile.externalRef} and did not come back; the session stays open until a supervisor reassigns or ends it`,
      });
    }
    if (await this.presence.expireGone(agentId, leftAt)) {
      this.realtime.toSupervisors('presence:changed', { v: 1, agentId, presence: 'away' });
      this.realtime.toAgent(agentId, 'presence:changed', { v: 1, agentId, presence: 'away' });
    }
  }
}
