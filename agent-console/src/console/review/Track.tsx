// The recording as a bar, with a marker per answer, flag, page and signing.
import { formatOffset, type Mark } from './review-format';

/** The recording as a bar: where the playhead is and where each answer and flag sits. */
export function Track({ marks, seconds, position, onSeek }: { marks: Mark[]; seconds: number; position: number; onSeek: (m: Mark) => void }) {
  const pct = (s: number) => `${Math.min(100, Math.max(0, (s / seconds) * 100))}%`;
  return (
    // The list below offers the same seeks to the keyboard and screen readers.
    <div className="review-track" aria-hidden="true">
      <div className="playhead" style={{ left: pct(position) }} />
      {marks.map((m) => (
        <button key={m.key} type="button" tabIndex={-1} className={`marker ${m.kind} ${m.tone}`} style={{ left: pct(m.offsetMs / 1000) }} title={`${formatOffset(m.offsetMs)} ${m.label}`} onClick={() => onSeek(m)} />
      ))}
    </div>
  );
}
