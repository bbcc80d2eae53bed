// One writer per table. Each table's rows are written (inserted, updated, deleted) by one module, so
// its invariant — a session's (state, version), a recording's state machine, the audit chain — is
// written down in one place. This reads the server's sources for every write: a Prisma delegate call
// (`tx.recording.updateMany(`), a Kysely statement (`updateTable('Recording')`) or SQL text
// (`UPDATE "Recording"`), and fails when a table is written from anywhere but its owner.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '../..');

/** The module that owns each table's writes (a second entry only where a separate invariant has its own owner). */
const OWNERS: Record<string, readonly string[]> = {
  ApiKey: ['server/auth/api-keys.service.ts'],
  Attempt: ['server/verification/verification.repository.ts'],
  AttemptParticipant: ['server/livekit/participants.ts'],
  // Appends, and the chain's links written by the sealer.
  AuditEvent: ['server/audit/audit.service.ts', 'server/audit/audit-sealer.service.ts'],
  AuditTreeHead: ['server/audit/checkpoint.service.ts'],
  BorrowerLink: ['server/auth/borrower-links.service.ts'],
  Capture: ['recordings/captures.service.ts'],
  ChecklistAnswer: ['server/checklists/checklist.service.ts'],
  ChecklistTemplate: ['server/checklists/templates.ts'],
  Consent: ['server/verification/party-join.service.ts'],
  ContractDocument: ['server/loan-files/loan-files.repository.ts'],
  FaceMatch: ['recordings/face-match.service.ts'],
  IdempotencyRecord: ['server/db/idempotency.ts'],
  LiveKitEvent: ['server/livekit/livekit-events.service.ts'],
  LivenessCheck: ['recordings/liveness.service.ts'],
  LoanFile: ['server/loan-files/loan-files.repository.ts'],
  LoginSession: ['server/auth/auth.service.ts'],
  LosWebhookDelivery: ['server/loan-files/los-webhooks.service.ts'],
  Party: ['server/loan-files/loan-files.repository.ts'],
  Recording: ['recordings/recording.repository.ts'],
  Review: ['server/reviews/review.service.ts'],
  RiskFlag: ['server/checklists/checklist.service.ts'],
  SessionOffer: ['server/verification/verification.repository.ts'],
  SigningConfirmation: ['server/verification/party-join.service.ts'],
  User: ['server/users/users.service.ts'],
  VerificationSession: ['server/verification/verification.repository.ts'],
};

const schema = readFileSync(join(ROOT, 'prisma/schema.prisma'), 'utf8');
const models = [...schema.matchAll(/^model (\w+)/gm)].map((m) => m[1]!);
const byDelegate = new Map(models.map((m) => [m[0]!.toLowerCase() + m.slice(1), m]));

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir)).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(join(ROOT, path)).isDirectory()) return name === 'generated' ? [] : sources(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

/** Comments removed, so a comment that names a statement is not a write. */
const code = (text: string) => text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:])\/\/.*$/gm, '$1');

/** The tables a source text writes. */
function tablesWrittenIn(source: string): Set<string> {
  const text = code(source);
  const tables = new Set<string>();
  for (const m of text.matchAll(/\.(\w+)\.(?:create|createMany|createManyAndReturn|update|updateMany|updateManyAndReturn|upsert|delete|deleteMany)\(/g)) {
    const model = byDelegate.get(m[1]!);
    if (model) tables.add(model);
  }
  for (const m of text.matchAll(/\b(?:insertInto|updateTable|deleteFrom|mergeInto)\(\s*'(\w+)/g)) tables.add(m[1]!);
  for (const m of text.matchAll(/\b(?:INSERT INTO|UPDATE|DELETE FROM|MERGE INTO)\s+"(\w+)"/g)) if (models.includes(m[1]!)) tables.add(m[1]!);
  return tables;
}

/** table -> the files that write it. */
function writers(files: readonly string[]): Map<string, Set<string>> {
  const found = new Map<string, Set<string>>();
  for (const file of files) {
    for (const table of tablesWrittenIn(readFileSync(join(ROOT, file), 'utf8'))) found.set(table, (found.get(table) ?? new Set()).add(file));
  }
  return found;
}

describe('table writers', () => {
  const files = [...sources('server'), ...sources('recordings')].map((f) => relative(ROOT, join(ROOT, f)));
  const found = writers(files);

  it('gives every table in the schema an owner', () => {
    expect(Object.keys(OWNERS).sort()).toEqual([...models].sort());
  });

  it('finds each table written only by its owner', () => {
    const strays = [...found].flatMap(([table, by]) => [...by].filter((file) => !(OWNERS[table] ?? []).includes(file)).map((file) => `${table} written in ${file}`));
    expect(strays).toEqual([]);
  });

  it('finds every owner writing its table (no stale entry)', () => {
    const idle = Object.entries(OWNERS).flatMap(([table, owners]) => owners.filter((file) => !found.get(table)?.has(file)).map((file) => `${file} no longer writes ${table}`));
    expect(idle).toEqual([]);
  });

  it('sees a write in each of its forms, and not in a comment or a read', () => {
    const sample = [
      'await tx.recording.updateMany({ where: { id } });',
      "await rows(sql, build.updateTable('Attempt').set({ endedAt: at }));",
      'await sql.query({ text: `INSERT INTO "Review" ("id") VALUES ($1)` });',
      '// tx.user.update(',
      'await tx.party.findMany({});',
      'SELECT * FROM "LoanFile"',
    ].join('\n');
    expect([...tablesWrittenIn(sample)].sort()).toEqual(['Attempt', 'Recording', 'Review']);
  });
});
