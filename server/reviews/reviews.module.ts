// Maker-checker review: completed sessions are sampled in the completing transaction; an auditor's
// recapture schedules the session again through verification's scheduling.
import type { ChecklistService } from '../checklists/checklist.service.js';
import type { Infrastructure } from '../infrastructure.js';
import type { SchedulingService } from '../verification/scheduling.service.js';
import { recaptureOf } from './recapture.js';
import { ReviewDesk } from './review-desk.service.js';
import { ReviewService } from './review.service.js';

export function reviewsModule({ config, db, events }: Infrastructure, { scheduling, checklists }: { scheduling: SchedulingService; checklists: ChecklistService }) {
  const reviews = new ReviewService({ db, rules: config.recordings.review, events });
  events.subscribe('session.completed', async ({ session, loanFile }, tx) => void (await reviews.selectOnCompletion(tx, session, loanFile.amount)));
  events.subscribeCommitted('review.recapture-requested', async ({ session, requestId }) => {
    await scheduling.schedule(session.loanFileId, recaptureOf(session), { actor: { type: 'SYSTEM', id: 'review-recapture' }, requestId, scope: 'review-recapture' }, undefined);
  });
  return { reviews, reviewDesk: new ReviewDesk(db, checklists) };
}
