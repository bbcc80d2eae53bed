// Domain rows for tests that start below the scheduling API: a loan file, a party, a session and
// an attempt, created the way the services would.
import { createHash, randomUUID } from 'node:crypto';
import type { TemplateDocument } from '../../server/checklists/template.schema.js';
import { templateHash } from '../../server/checklists/templates.js';
import type { Db } from '../../server/db/client.js';
import { recordingKey, roomNameFor } from '../../server/livekit/identities.js';

/**
 * Key terms for an 80,000.00 CNY loan over 12 months at 4.35 % (equal instalments of 6,824.79),
 * as a lender's LOS sends them: enough for every placeholder the default scripts name.
 */
export const LOAN_TERMS = {
  termMonths: 12,
  apr: '4.35',
  fees: [{ name: { 'zh-CN': '担保费', en: 'guarantee fee' }, amount: '50.00', period: 'MONTHLY' }],
  repaymentMethod: 'EQUAL_INSTALMENTS',
  instalmentAmount: '6824.79',
  dueDay: 15,
  lenderName: { 'zh-CN': '示例银行', en: 'Example Bank' },
  collateral: null,
} as const;

/**
 * A minimal published template to pin (the real ones come from server/checklists/templates): one optional
 * statement, a document the services read like any published one, so the API can show a fixture session.
 */
async function fixtureTemplate(db: Db, kind: 'CALL' | 'VIDEO') {
  const key = `fixture-${kind.toLowerCase()}`;
  const text = (words: string) => ({ 'zh-CN': words, en: words });
  const definition: TemplateDocument = {
    key,
    version: 1,
    kind,
    title: text('Fixture'),
    sections: [{ id: 'fixture', title: text('Fixture'), randomize: false, items: [{ id: 'fixture_statement', kind: 'statement', required: false, prompt: text('Fixture statement') }] }],
  };
  return (
    (await db.checklistTemplate.findUnique({ where: { key_version: { key, version: 1 } } })) ??
    (await db.checklistTemplate.create({ data: { key, version: 1, kind, definition, contentHash: templateHash(definition) } }))
  );
}

export async function createAttempt(db: Db, options: { kind: 'CALL' | 'VIDEO'; phoneE164?: string }) {
  const loanFile = await db.loanFile.create({
    data: { externalRef: `FX-${randomUUID().slice(0, 8)}`, product: 'consumer-loan', amount: '1000.00', currency: 'CNY' },
  });
  const party = await db.party.create({
    data: { loanFileId: loanFile.id, role: 'BORROWER', fullName: '测试', phoneE164: options.phoneE164 ?? '+8613805550100', timeZone: 'Asia/Shanghai', locale: 'zh-CN' },
  });
  const session = await db.verificationSession.create({
    data: {
      loanFileId: loanFile.id,
      partyId: party.id,
      kind: options.kind,
      state: 'IN_PROGRESS',
      templateKey: `fixture-${options.kind.toLowerCase()}`,
      templateVersion: 1,
      templateId: (await fixtureTemplate(db, options.kind)).id,
      productSkill: 'consumer-loan',
      language: 'zh-CN',
      notBefore: new Date(),
      deadline: new Date(Date.now() + 86_400_000),
    },
  });
  const attemptId = randomUUID();
  const attempt = await db.attempt.create({ data: { id: attemptId, sessionId: session.id, number: 1, roomName: roomNameFor(attemptId) } });
  return { loanFile, party, session, attempt, room: attempt.roomName };
}

/**
 * A VERIFIED call recording of a fresh attempt, its object stored through `upload` (whichever bucket the
 * test reads back), on a loan file with the given maturity.
 */
export async function verifiedRecording(
  db: Db,
  upload: (key: string, body: Buffer) => Promise<unknown>,
  options: { maturityDate?: string | undefined; verifiedAt: Date },
) {
  const { loanFile, session, attempt } = await createAttempt(db, { kind: 'CALL' });
  if (options.maturityDate) await db.loanFile.update({ where: { id: loanFile.id }, data: { maturityDate: new Date(options.maturityDate) } });
  const objectKey = recordingKey({ loanFileId: loanFile.id, sessionId: session.id, attemptId: attempt.id }, true);
  const body = Buffer.from(`ogg bytes of attempt ${attempt.id}`);
  await upload(objectKey, body);
  const recording = await db.recording.create({
    data: {
      attemptId: attempt.id,
      egressId: `EG_${randomUUID().replace(/-/g, '').slice(0, 12)}`,
      audioOnly: true,
      objectKey,
      state: 'VERIFIED',
      sha256: createHash('sha256').update(body).digest('hex'),
      sizeBytes: BigInt(body.length),
      contentType: 'audio/ogg',
      verifiedAt: options.verifiedAt,
    },
  });
  return { ...recording, loanFileId: loanFile.id };
}

/** Polls until `check` returns a value (not undefined/false); the test's timeout bounds the wait. */
export async function eventually<T>(check: () => Promise<T | undefined | false | null>, intervalMs = 25): Promise<T> {
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false && value !== null) return value;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
