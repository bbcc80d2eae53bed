// Auditor review: the queue and search at /review, one session at /review/:sessionId.
import './review.css';
import { SessionReview } from './SessionReview';
import { SessionSearch } from './SessionSearch';

export default function ReviewPage({ params }: { params: Record<string, string> }) {
  return params.sessionId ? <SessionReview key={params.sessionId} sessionId={params.sessionId} /> : <SessionSearch />;
}
