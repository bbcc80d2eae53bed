// API keys for the lender's LOS: "fsk_<prefix>_<secret>". The prefix finds the row, the secret is
// stored only as a SHA-256 (it carries 256 bits of entropy, so a slow hash adds nothing).
import type { Db } from '../db/client.js';
import { AppError } from '../shared/errors.js';
import { appendAudit, type AuditEntry } from '../audit/audit.service.js';
import { newToken, sameHash, sha256Hex } from './tokens.js';
import { apiScopeSchema, type ApiScope, type Principal } from './principal.js';
import { randomBytes } from 'node:crypto';

const KEY_FORMAT = /^fsk_([a-z0-9]{16})_([A-Za-z0-9_-]{43})$/;
const TOUCH_INTERVAL_MS = 60_000;

export interface ApiKeyView {
  id: string;
  name: string;
  prefix: string;
  scopes: ApiScope[];
  createdAt: Date;
  lastUsedAt: Date | null;
  expiresAt: Date | null;
  revokedAt: Date | null;
}

const viewSelect = { id: true, name: true, prefix: true, scopes: true, createdAt: true, lastUsedAt: true, expiresAt: true, revokedAt: true } as const;

export class ApiKeyService {
  constructor(private readonly db: Db) {}

  async create(
    input: { name: string; scopes: ApiScope[]; expiresAt?: Date | undefined },
    actor: AuditEntry['actor'],
    requestId: string,
  ): Promise<{ key: string; view: ApiKeyView }> {
    const prefix = randomBytes(10).toString('hex').slice(0, 16);
    const secret = newToken(32);
    const view = await this.db.$transaction(async (tx) => {
      const row = await tx.apiKey.create({
        data: {
          name: input.name,
          prefix,
          secretHash: sha256Hex(secret),
          scopes: input.scopes,
          expiresAt: input.expiresAt ?? null,
          createdById: actor.type === 'USER' ? actor.id : null,
        },
        select: viewSelect,
      });
      await appendAudit(tx, {
        actor,
        entity: { type: 'api_key', id: row.id },
        event: { action: 'api_key.created', v: 1, data: { prefix, scopes: input.scopes } },
        requestId,
      });
      return row;
    });
    return { key: `fsk_${prefix}_${secret}`, view: toView(view) };
  }

  async list(): Promise<ApiKeyView[]> {
    const rows = await this.db.apiKey.findMany({ orderBy: { createdAt: 'desc' }, select: viewSelect });
    return rows.map(toView);
  }

  async revoke(id: string, actor: AuditEntry['actor'], requestId: string): Promise<void> {
    await this.db.$transaction(async (tx) => {
      const key = await tx.apiKey.findUnique({ where: { id } });
      if (!key) throw new AppError('NOT_FOUND', 'No such API key');
      const { count } = await tx.apiKey.updateMany({ where: { id, revokedAt: null }, data: { revokedAt: new Date() } });
      if (count === 0) return;
      await appendAudit(tx, {
        actor,
        entity: { type: 'api_key', id },
        event: { action: 'api_key.revoked', v: 1, data: { prefix: key.prefix } },
        requestId,
      });
    });
  }

  async authenticate(presented: string): Promise<Principal | null> {
    const match = KEY_FORMAT.exec(presented);
    if (!match?.[1] || !match[2]) return null;
    const key = await this.db.apiKey.findUnique({ where: { prefix: match[1] } });
    const now = new Date();
    if (!key || !sameHash(sha256Hex(match[2]), key.secretHash) || key.revokedAt || (key.expiresAt && key.expiresAt <= now)) {
      return null;
    }
    if (!key.lastUsedAt || now.getTime() - key.lastUsedAt.getTime() > TOUCH_INTERVAL_MS) {
      await this.db.apiKey.update({ where: { id: key.id }, data: { lastUsedAt: now } });
    }
    return { kind: 'apiKey', apiKeyId: key.id, scopes: key.scopes.filter((s): s is ApiScope => apiScopeSchema.safeParse(s).success) };
  }
}

function toView(row: Omit<ApiKeyView, 'scopes'> & { scopes: string[] }): ApiKeyView {
  return { ...row, scopes: row.scopes.filter((s): s is ApiScope => apiScopeSchema.safeParse(s).success) };
}
