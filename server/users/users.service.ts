// Console users. Creation is used by the seed and by admins; passwords are hashed with scrypt.
import type { Db } from '../db/client.js';
import type { Role } from '../db/generated/prisma/enums.js';
import { appendAudit, type AuditEntry } from '../audit/audit.service.js';
import { hashPassword } from '../auth/password.js';

export interface NewUser {
  email: string;
  displayName: string;
  password: string;
  roles: Role[];
  locale?: 'zh-CN' | 'en';
  languages?: string[];
  skills?: string[];
}

export async function createUser(db: Db, input: NewUser, actor: AuditEntry['actor'] = { type: 'SYSTEM' }) {
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
    });
    return user;
  });
}
