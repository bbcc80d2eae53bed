// 'session-deadline': the session's deadline passed; an open session expires.
import { tryApply, type SessionJobContext } from './context.js';

export async function deadline(ctx: SessionJobContext, sessionId: string): Promise<void> {
  await tryApply(ctx, sessionId, { type: 'DEADLINE_PASSED' });
}
