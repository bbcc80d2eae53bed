// Captures one frame of the borrower's video and uploads it as a PNG. With simulated media there is no
// video, so the frame is a generated, clearly labelled test picture: the upload path is still the real one.
import { useState, type RefObject } from 'react';
import { useLoad } from '../../shared/hooks';
import { call, client, rawBody } from '../../shared/api';
import { ErrorNote } from '../../shared/ErrorNote';
import { useT } from '../../shared/i18n';
import { useLabels } from '../../shared/labels';
import { deskMessages } from './messages';
import { FaceMatchPanel } from './FaceMatchPanel';
import { LivenessPanel } from './LivenessPanel';

const KINDS = ['FACE', 'ID_FRONT', 'ID_BACK', 'LIVENESS_BEFORE', 'LIVENESS_ACTION'] as const;

function frameFrom(stage: HTMLElement | null): HTMLCanvasElement {
  const video = stage?.querySelector('video');
  const canvas = document.createElement('canvas');
  if (video && video.videoWidth > 0) {
    canvas.width = video.videoWidth;
    canvas.height = video.videoHeight;
    canvas.getContext('2d')?.drawImage(video, 0, 0);
    return canvas;
  }
  canvas.width = 640;
  canvas.height = 360;
  const ctx = canvas.getContext('2d');
  if (ctx) {
    const gradient = ctx.createLinearGradient(0, 0, 640, 360);
    gradient.addColorStop(0, '#1e3a8a');
    gradient.addColorStop(1, '#0f766e');
    ctx.fillStyle = gradient;
    ctx.fillRect(0, 0, 640, 360);
    ctx.fillStyle = '#ffffff';
    ctx.font = '28px sans-serif';
    ctx.fillText('SIMULATED MEDIA — TEST FRAME', 40, 170);
    ctx.font = '18px monospace';
    ctx.fillText(new Date().toISOString(), 40, 210);
  }
  return canvas;
}

/** `changeTick` moves when the desk hears a change for the session (a face match or liveness check completed, among others). */
export function SnapshotButton({ sessionId, stage, simulated, changeTick = 0 }: { sessionId: string; stage: RefObject<HTMLElement | null>; simulated: boolean; changeTick?: number }) {
  const t = useT(deskMessages);
  const labels = useLabels();
  const [kind, setKind] = useState<(typeof KINDS)[number]>('FACE');
  const [saved, setSaved] = useState<{ sizeBytes: number; sha256: string }>();
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  // Every snapshot of the session, not only the last one: the agent sees what is already on file.
  const taken = useLoad((signal) => call(client.GET('/api/sessions/{id}/captures', { params: { path: { id: sessionId } }, signal })), [sessionId, saved]);
  const take = async () => {
    setBusy(true);
    setError(undefined);
    try {
      const canvas = frameFrom(simulated ? null : stage.current);
      const blob = await new Promise<Blob>((resolve, reject) => canvas.toBlob((b) => (b ? resolve(b) : reject(new Error('could not encode the frame'))), 'image/png'));
      setSaved(await call(client.POST('/api/sessions/{id}/captures', { params: { path: { id: sessionId }, query: { kind } }, ...rawBody(blob) })));
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="row">
      <label className="row">
        <span>{t('snapshotKind')}</span>
        <select value={kind} onChange={(e) => setKind(e.target.value as (typeof KINDS)[number])} style={{ width: 'auto' }}>
          {KINDS.map((k) => (
            <option key={k} value={k}>
              {labels.capture(k)}
            </option>
          ))}
        </select>
      </label>
      <button type="button" onClick={() => void take()} disabled={busy}>
        {t('snapshot')}
      </button>
      {saved ? (
        <span className="badge ok" role="status">
          {t('snapshotSaved', { kb: Math.ceil(saved.sizeBytes / 1024), hash: saved.sha256.slice(0, 12) })}
        </span>
      ) : null}
      <ErrorNote error={error ?? taken.error} />
      {taken.data && taken.data.items.length > 0 ? (
        <ul className="snapshot-list" aria-label={t('captures')} data-testid="snapshots">
          {taken.data.items.map((c) => (
            <li key={c.id}>
              <img src={`/api/captures/${c.id}/content`} alt={labels.capture(c.kind)} loading="lazy" />
              <span>{labels.capture(c.kind)}</span>
            </li>
          ))}
        </ul>
      ) : null}
      <FaceMatchPanel sessionId={sessionId} reloadKey={`${saved?.sha256 ?? ''}:${changeTick}`} />
      <LivenessPanel sessionId={sessionId} reloadKey={`${saved?.sha256 ?? ''}:${changeTick}`} />
    </div>
  );
}
