// Who may join a session's room and follow it live: supervisors and admins every session, an agent
// only the session assigned to them (auditors review recordings, never live sessions).
import type { Db } from '../db/client.js';
import type { Role } from '../db/generated/prisma/enums.js';

export interface Watcher {
  userId: string;
  roles: readonly Role[];
}

/** The rule, on what the session says about its agent (`undefined`: no such session). */
export function mayWatchSession(watcher: Watcher, session: { assignedAgentId: string | null } | undefined): boolean {
  if (watcher.roles.some((role) => role === 'SUPERVISOR' || role === 'ADMIN')) return true;
  return session !== undefined && session.assignedAgentId === watcher.userId;
}

/** The rule over the database: reads the session only when the roles alone do not decide. */
export function sessionWatchPermission(db: Db): (watcher: Watcher, sessionId: string) => Promise<boolean> {
  return async (watcher, sessionId) => {
    if (mayWatchSession(watcher, undefined)) return true;
    const session = await db.verificationSession.findUnique({ where: { id: sessionId }, select: { assignedAgentId: true } });
    return mayWatchSession(watcher, session ?? undefined);
  };
}
