// The face-match assist on the desk: the newest comparison of the session's ID photo with the live
// face, as the two crops side by side, the band and the similarity. A missing or extra face is said
// in words, with the snapshot it was in, never shown as a low score. The agent decides.
import { useLoad } from '../../shared/hooks';
import { call, client, type Schemas } from '../../shared/api';
import { ErrorNote } from '../../shared/ErrorNote';
import { useT } from '../../shared/i18n';
import { useLabels } from '../../shared/labels';
import { deskMessages } from './messages';

export type FaceMatchView = Schemas['FaceMatch'];

const BADGE: Record<NonNullable<FaceMatchView['result']>, string> = {
  MATCH: 'ok',
  UNCERTAIN: 'warn',
  NO_MATCH: 'bad',
  NO_FACE: 'warn',
  MULTIPLE_FACES: 'warn',
  UNREADABLE: 'warn',
};

/** `reloadKey` changes when the desk hears `face-match:changed` or a snapshot was saved. */
export function FaceMatchPanel({ sessionId, reloadKey }: { sessionId: string; reloadKey: unknown }) {
  const t = useT(deskMessages);
  const labels = useLabels();
  const matches = useLoad((signal) => call(client.GET('/api/sessions/{id}/face-matches', { params: { path: { id: sessionId } }, signal })), [sessionId, reloadKey]);
  const match = matches.data?.items[0];
  if (!match) return <ErrorNote error={matches.error} />;

  const verdict = match.result ?? match.status;
  const faceProblem = match.result === 'NO_FACE' || match.result === 'MULTIPLE_FACES';
  // Which snapshot has no face or several: the one(s) to take again.
  const wrongSides = [
    match.faceCounts.id !== null && match.faceCounts.id !== 1 ? t('faceMatchWhereId') : undefined,
    match.faceCounts.live !== null && match.faceCounts.live !== 1 ? t('faceMatchWhereLive') : undefined,
  ].filter((w) => w !== undefined);
  const where = faceProblem && wrongSides.length > 0 ? t('faceMatchWhere', { where: wrongSides.join(t('faceMatchWhereJoin')) }) : '';
  const crop = (url: string | null, label: string) => (
    <figure className="face-crop">
      {url ? <img src={url} alt={label} /> : <div className="face-crop-empty" aria-hidden="true" />}
      <figcaption>{label}</figcaption>
    </figure>
  );
  return (
    <section className="face-match stack" aria-label={t('faceMatchTitle')} data-testid="face-match">
      <h3>{t('faceMatchTitle')}</h3>
      <div className="row">
        {crop(match.crops.id, t('faceMatchIdCrop'))}
        {crop(match.crops.live, t('faceMatchLiveCrop'))}
        <div className="stack">
          <span className={`badge ${match.result ? BADGE[match.result] : match.status === 'FAILED' ? 'bad' : ''}`} role="status" data-testid="face-match-result">
            {labels.faceMatch(verdict)}
            {where}
          </span>
          {match.score !== null ? <strong data-testid="face-match-score">{t('faceMatchScore', { score: match.score.toFixed(2) })}</strong> : null}
          <small>{t('faceMatchBands', { matchAt: match.thresholds.matchAt.toFixed(2), noMatchBelow: match.thresholds.noMatchBelow.toFixed(2) })}</small>
          {faceProblem ? <small>{t('faceMatchRetake')}</small> : null}
          {match.model ? <small className="hint">{t('faceMatchModel', { model: match.model.version })}</small> : null}
        </div>
      </div>
      <p className="hint">{t('faceMatchHint')}</p>
      <ErrorNote error={matches.error} />
    </section>
  );
}
