// The active-liveness assist on the desk: the newest check of the session's "before" and "during"
// frames against its liveness prompt, with what was looked for, the verdict, each frame's figures and
// the thresholds. A missing or extra face is said in words; a prompt landmarks cannot show is handed
// back to the agent. The agent decides.
import { useLoad } from '../../shared/hooks';
import { call, client, type Schemas } from '../../shared/api';
import { ErrorNote } from '../../shared/ErrorNote';
import { useT } from '../../shared/i18n';
import { useLabels } from '../../shared/labels';
import { deskMessages } from './messages';
import './liveness.css';

export type LivenessView = Schemas['LivenessCheck'];
type Frame = LivenessView['before'];

const BADGE: Record<NonNullable<LivenessView['result']>, string> = {
  PASSED: 'ok',
  NOT_OBSERVED: 'warn',
  NO_FACE: 'warn',
  MULTIPLE_FACES: 'warn',
  NOT_CHECKABLE: '',
  UNREADABLE: 'warn',
};

/**
 * On the desk (`mode` "desk"): the newest check, with how to take the frames. On the review page
 * ("review"): every check of the session, oldest first, as the evidence package lists them.
 * `reloadKey` changes when the desk hears `liveness:changed` or a snapshot was saved.
 */
export function LivenessPanel({ sessionId, reloadKey, mode = 'desk' }: { sessionId: string; reloadKey: unknown; mode?: 'desk' | 'review' }) {
  const t = useT(deskMessages);
  const checks = useLoad((signal) => call(client.GET('/api/sessions/{id}/liveness-checks', { params: { path: { id: sessionId } }, signal })), [sessionId, reloadKey]);
  const items = checks.data?.items ?? [];
  const shown = mode === 'desk' ? items.slice(0, 1) : [...items].reverse();
  if (shown.length === 0) return <ErrorNote error={checks.error} />;
  return (
    <section className="liveness stack" aria-label={t('livenessTitle')} data-testid="liveness">
      <h3>{t('livenessTitle')}</h3>
      {shown.map((check) => (
        <LivenessCheck key={check.id} check={check} />
      ))}
      <p className="hint">{mode === 'desk' ? t('livenessHint') : t('livenessReviewHint')}</p>
      <ErrorNote error={checks.error} />
    </section>
  );
}

function LivenessCheck({ check }: { check: LivenessView }) {
  const t = useT(deskMessages);
  const labels = useLabels();
  const figures = (frame: Frame) =>
    frame.measures
      ? t('livenessFigures', { yaw: frame.measures.yawDeg.toFixed(0), pitch: frame.measures.pitch.toFixed(2), ear: frame.measures.ear.toFixed(2), mouth: frame.measures.mouth.toFixed(2) })
      : t('livenessNoFigures', { count: frame.faceCount ?? '—' });
  const th = check.thresholds;
  const faceProblem = check.result === 'NO_FACE' || check.result === 'MULTIPLE_FACES';
  return (
    <div className="stack liveness-check" data-testid="liveness-check">
      {check.movement ? <span>{t('livenessExpected', { movement: labels.movement(check.movement) })}</span> : null}
      <span className={`badge ${check.result ? BADGE[check.result] : check.status === 'FAILED' ? 'bad' : ''}`} role="status" data-testid="liveness-result">
        {labels.liveness(check.result ?? check.status)}
      </span>
      <dl className="liveness-figures" data-testid="liveness-figures">
        <dt>{t('livenessBefore')}</dt>
        <dd>{figures(check.before)}</dd>
        <dt>{t('livenessAction')}</dt>
        <dd>{figures(check.action)}</dd>
      </dl>
      <small>
        {t('livenessThresholds', {
          yaw: th.yawChangeDeg,
          pitch: th.pitchChange,
          eyesClosed: th.eyesClosedBelow,
          eyesOpen: th.eyesOpenAt,
          mouthOpen: th.mouthOpenAt,
          mouthClosed: th.mouthClosedBelow,
        })}
      </small>
      {faceProblem ? <small>{t('livenessRetake')}</small> : null}
      {check.result === 'NOT_CHECKABLE' ? <small>{t('livenessNotCheckable')}</small> : null}
      {check.model ? <small className="hint">{t('faceMatchModel', { model: check.model.version })}</small> : null}
    </div>
  );
}
