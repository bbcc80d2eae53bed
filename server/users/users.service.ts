// Console users. Creation is used by the seed and by admins; passwords are hashed with scrypt.
import type { Db } from '../db/client.js';
import type { Role } from '../db/generated/prisma/enums.js';
import { appendAudit, type AuditEntry } from '../audit/audit.service.js';
import { hashPassword } from '../auth/password.js';
import { revokeUserSessions } from '../auth/auth.service.js';
import { isUniqueViolation } from '../db/client.js';
import { AppError } from '../shared/errors.js';
import type { ConsoleConnections } from '../realtime/events.js';
import type { DomainEvents } from '../events/domain-events.js';

export interface NewUser {
  email: string;
  displayName: string;
  password: string;
  roles: Role[];
  locale?: 'zh-CN' | 'en';
  languages?: string[];
  skills?: string[];
}

export async function createUser(db: Db, input: NewUser, actor: AuditEntry['actor'] = { type: 'SYSTEM' }, requestId?: string) {
  const passwordHash = await hashPassword(input.password);
  return db.$transaction(async (tx) => {
    const user = await tx.user.create({
      data: {
        email: input.email.trim().toLowerCase(),
        displayName: input.displayName,
        passwordHash,
        roles: input.roles,
        locale: input.locale ?? 'zh-CN',
        languages: input.languages ?? [],
        skills: input.skills ?? [],
      },
    });
    await appendAudit(tx, {
      actor,
      entity: { type: 'user', id: user.id },
      event: { action: 'user.created', v: 1, data: { roles: input.roles } },
      ...(requestId ? { requestId } : {}),
    });
    return user;
  });
}

export interface UserAccount {
  id: string;
  email: string;
  displayName: string;
  roles: Role[];
  locale: string;
  disabled: boolean;
}

const ROLE_ORDER: readonly Role[] = ['AGENT', 'SUPERVISOR', 'AUDITOR', 'ADMIN'];
const accountOf = (u: { id: string; email: string; displayName: string; roles: Role[]; locale: string; disabledAt: Date | null }): UserAccount => ({
  id: u.id,
  email: u.email,
  displayName: u.displayName,
  roles: u.roles,
  locale: u.locale,
  disabled: u.disabledAt !== null,
});

/**
 * What administrators change about console users: their roles, and whether they may sign in at all.
 * A disabled user's login sessions are revoked with it. Either change ends the user's live console
 * connections on every node after commit, because a socket carries the principal it was opened with.
 */
export class UserAdmin {
  constructor(
    private readonly db: Db,
    private readonly connections: ConsoleConnections,
    private readonly events: DomainEvents,
  ) {}

  async list(): Promise<UserAccount[]> {
    const users = await this.db.user.findMany({ orderBy: { email: 'asc' } });
    return users.map(accountOf);
  }

  /** A new console user with an initial password; an address already in use is EMAIL_TAKEN. */
  async create(input: NewUser, actor: { type: 'USER'; id: string }, requestId: string): Promise<UserAccount> {
    const roles = ROLE_ORDER.filter((r) => input.roles.includes(r));
    try {
      return accountOf(await createUser(this.db, { ...input, roles }, actor, requestId));
    } catch (error) {
      if (isUniqueViolation(error)) throw new AppError('EMAIL_TAKEN', 'A user with this e-mail address exists', { errors: [{ in: 'body', field: 'email', message: 'in use' }] });
      throw error;
    }
  }

  async update(userId: string, change: { roles?: Role[] | undefined; disabled?: boolean | undefined }, actor: { type: 'USER'; id: string }, requestId: string): Promise<UserAccount> {
    const user = await this.db.user.findUnique({ where: { id: userId } });
    if (!user) throw new AppError('NOT_FOUND', 'No such user');
    if (userId === actor.id && (change.disabled === true || (change.roles && !change.roles.includes('ADMIN')))) {
      // Otherwise the last administrator could leave the bank with none.
      throw new AppError('FORBIDDEN', 'Administrators cannot disable themselves or give up their own ADMIN role');
    }
    const roles = change.roles ? ROLE_ORDER.filter((r) => change.roles!.includes(r)) : user.roles;
    const rolesChanged = roles.length !== user.roles.length || roles.some((r) => !user.roles.includes(r));
    const disable = change.disabled === true && user.disabledAt === null;
    const enable = change.disabled === false && user.disabledAt !== null;
    if (!rolesChanged && !disable && !enable) return accountOf(user);

    const updated = await this.db.$transaction(async (tx) => {
      const now = new Date();
      // Conditional on the row we decided on: a concurrent change makes the caller look again.
      const { count } = await tx.user.updateMany({
        where: { id: userId, updatedAt: user.updatedAt },
        data: { roles, ...(disable ? { disabledAt: now } : enable ? { disabledAt: null } : {}) },
      });
      if (count === 0) throw new AppError('VERSION_CONFLICT', 'The user was changed at the same time; look again');
      const audit = (event: AuditEntry['event']) => appendAudit(tx, { actor, entity: { type: 'user', id: userId }, event, requestId });
      if (rolesChanged) await audit({ action: 'user.roles_changed', v: 1, data: { from: user.roles, to: roles } });
      if (disable) {
        const revokedSessions = await revokeUserSessions(tx, userId, now);
        await audit({ action: 'user.disabled', v: 1, data: { revokedSessions } });
      }
      if (enable) await audit({ action: 'user.enabled', v: 1, data: {} });
      return tx.user.findUniqueOrThrow({ where: { id: userId } });
    });
    if (rolesChanged || disable) {
      // Before the answer: the user's next request, on any node, is judged on the new roles or refused.
      await this.events.publishCommitted({ type: 'user.access-changed', userId });
      this.connections.endUserConnections(userId);
    }
    return accountOf(updated);
  }
}
