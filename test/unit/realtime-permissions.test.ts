// Who may watch a session live: supervisors and admins any session, an agent only their own.
import { describe, expect, it } from 'vitest';
import { mayWatchSession, type Watcher } from '../../server/realtime/permissions.js';

const agent: Watcher = { userId: 'agent-1', roles: ['AGENT'] };

describe('mayWatchSession', () => {
  it.each([
    ['the assigned agent', agent, { assignedAgentId: 'agent-1' }, true],
    ['another agent', agent, { assignedAgentId: 'agent-2' }, false],
    ['an agent, unassigned session', agent, { assignedAgentId: null }, false],
    ['an agent, no such session', agent, undefined, false],
    ['a supervisor', { userId: 'sup', roles: ['SUPERVISOR'] }, { assignedAgentId: 'agent-1' }, true],
    ['an admin, no such session', { userId: 'adm', roles: ['ADMIN'] }, undefined, true],
    ['an auditor', { userId: 'aud', roles: ['AUDITOR'] }, { assignedAgentId: 'agent-1' }, false],
    ['an auditor who is also the assigned agent', { userId: 'agent-1', roles: ['AUDITOR', 'AGENT'] }, { assignedAgentId: 'agent-1' }, true],
  ] as const)('%s: %s', (_name, watcher, session, allowed) => {
    expect(mayWatchSession(watcher, session)).toBe(allowed);
  });
});
