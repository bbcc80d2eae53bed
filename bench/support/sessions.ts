// Bulk set-up of loan files, borrowers and sessions for benchmarks, written with createMany: the rows
// the scheduling service would write (pinned published template, its item order), without timing
// the set-up.
import { randomUUID } from 'node:crypto';
import type { Db } from '../../server/db/client.js';
import type { SessionState } from '../../server/db/generated/prisma/enums.js';
import { latestTemplate, templateDocumentOf } from '../../server/checklists/templates.js';
import { sessionItemOrder } from '../../server/checklists/randomize.js';
import { roomNameFor } from '../../server/livekit/identities.js';

export interface BulkSessions {
  sessionIds: string[];
  /** The checklist's item ids (the same template for every session). */
  itemIds: string[];
}

export async function bulkCallSessions(
  db: Db,
  input: { count: number; state: SessionState; notBefore: Date; phoneE164: string; product: string; agentIds?: string[]; withAttempt?: boolean },
): Promise<BulkSessions> {
  const template = await latestTemplate(db, 'call-default');
  if (!template) throw new Error('the call-default checklist is not published');
  const doc = templateDocumentOf(template);
  const itemIds = doc.sections.flatMap((s) => s.items.map((i) => i.id));
  const sessionIds: string[] = [];
  for (let from = 0; from < input.count; from += 1000) {
    const n = Math.min(1000, input.count - from);
    const loanFiles = Array.from({ length: n }, (_, i) => ({ id: randomUUID(), externalRef: `BENCH-${randomUUID().slice(0, 13)}-${from + i}`, product: input.product, amount: '80000.00', currency: 'CNY', status: 'IN_VERIFICATION' as const }));
    const parties = loanFiles.map((lf) => ({ id: randomUUID(), loanFileId: lf.id, role: 'BORROWER' as const, fullName: '测试', phoneE164: input.phoneE164, timeZone: 'Asia/Shanghai', locale: 'zh-CN' }));
    const sessions = parties.map((p, i) => {
      const id = randomUUID();
      const agentId = input.agentIds?.[(from + i) % input.agentIds.length];
      return {
        id,
        loanFileId: p.loanFileId,
        partyId: p.id,
        kind: 'CALL' as const,
        state: input.state,
        templateId: template.id,
        templateKey: template.key,
        templateVersion: template.version,
        itemOrder: sessionItemOrder(doc, id),
        productSkill: input.product,
        language: 'zh-CN',
        notBefore: input.notBefore,
        deadline: new Date(input.notBefore.getTime() + 7 * 86_400_000),
        ...(agentId ? { assignedAgentId: agentId } : {}),
        ...(input.withAttempt ? { attemptCount: 1 } : {}),
      };
    });
    await db.loanFile.createMany({ data: loanFiles });
    await db.party.createMany({ data: parties });
    await db.verificationSession.createMany({ data: sessions });
    if (input.withAttempt) {
      await db.attempt.createMany({
        data: sessions.map((s) => {
          const id = randomUUID();
          return { id, sessionId: s.id, number: 1, roomName: roomNameFor(id), agentId: s.assignedAgentId ?? null, answeredAt: new Date(), recordingStartedAt: new Date() };
        }),
      });
    }
    sessionIds.push(...sessions.map((s) => s.id));
  }
  return { sessionIds, itemIds };
}
