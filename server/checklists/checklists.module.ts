// Checklists: the versioned scripts (published from the repository's template files at start-up),
// the answers given during a session, and its risk flags.
import type { FeatureContext } from '../infrastructure.js';
import type { SessionEngine } from '../verification/session-engine.js';
import { ChecklistService } from './checklist.service.js';
import { loadTemplateFiles, publishTemplates } from './templates.js';

export async function checklistsModule({ db, realtime }: FeatureContext, { engine }: { engine: SessionEngine }): Promise<ChecklistService> {
  // Checklist versions are data in the repo; publishing is idempotent and safe on every node.
  await publishTemplates(db, await loadTemplateFiles());
  return new ChecklistService(db, engine, realtime.emitter);
}
