// The review desk's API answers (server/reviews/review-desk.routes.ts), from the generated OpenAPI types.
import type { ResponseOf, Schemas } from '../../shared/api';

export type SearchPage = Schemas['SessionSearchPage'];
export type SessionRow = SearchPage['items'][number];
export type ReviewStatus = NonNullable<SessionRow['review']>['status'];
export type ReviewFile = Schemas['SessionReviewFile'];
export type Localized = ReviewFile['items'][number]['prompt'];
export type RecordingInfo = NonNullable<ReviewFile['attempts'][number]['recording']>;
export type Capture = ResponseOf<'/api/sessions/{id}/captures'>['items'][number];
export type IntegrityResult = ResponseOf<'/api/recordings/{id}/integrity-check', 'post'>;
