// Camera and microphone check: ask for both, show the live picture and a microphone level, and when it
// fails say what to do about that particular problem (blocked, missing, busy, insecure page).
import { useEffect, useRef, useState } from 'react';
import { deviceProblem, requestDevices, type DeviceProblem } from '../shared/media';
import { useT } from '../shared/i18n';
import { joinMessages, type JoinMessageKey } from './messages';

const PROBLEM_TEXT: Record<DeviceProblem, JoinMessageKey> = {
  denied: 'problemDenied',
  'not-found': 'problemNotFound',
  'in-use': 'problemInUse',
  insecure: 'problemInsecure',
  unknown: 'problemUnknown',
};

/** The camera and microphone, or the reason they cannot be used. */
async function openDevices(): Promise<MediaStream> {
  // Browsers hide mediaDevices on insecure pages; that is its own problem, not a refusal.
  if (!window.isSecureContext || !navigator.mediaDevices) throw Object.assign(new Error('insecure context'), { name: 'InsecureContext' });
  return requestDevices({ audio: true, video: true });
}

function problemOf(error: unknown): DeviceProblem {
  return (error as { name?: string } | null)?.name === 'InsecureContext' ? 'insecure' : deviceProblem(error);
}

export function stopStream(stream: MediaStream | null | undefined): void {
  stream?.getTracks().forEach((track) => track.stop());
}

/** A muted live picture of a stream (the party's own camera). */
export function Preview({ stream, label, className = 'preview' }: { stream: MediaStream | null; label: string; className?: string }) {
  const video = useRef<HTMLVideoElement>(null);
  useEffect(() => {
    if (video.current) video.current.srcObject = stream;
  }, [stream]);
  return <video ref={video} className={className} autoPlay muted playsInline aria-label={label} />;
}

/** 0..1, how loud the microphone is, sampled a few times a second. */
function useMicLevel(stream: MediaStream | null): number {
  const [level, setLevel] = useState(0);
  useEffect(() => {
    if (!stream || stream.getAudioTracks().length === 0 || typeof AudioContext === 'undefined') return;
    const context = new AudioContext();
    // Created right after the click that opened the devices; resume in case the browser started it suspended.
    void context.resume();
    const analyser = context.createAnalyser();
    analyser.fftSize = 512;
    context.createMediaStreamSource(stream).connect(analyser);
    const samples = new Uint8Array(analyser.fftSize);
    const timer = setInterval(() => {
      analyser.getByteTimeDomainData(samples);
      let sum = 0;
      for (const sample of samples) sum += ((sample - 128) / 128) ** 2;
      setLevel(Math.min(1, Math.sqrt(sum / samples.length) * 4));
    }, 150);
    return () => {
      clearInterval(timer);
      void context.close();
    };
  }, [stream]);
  return level;
}

export function DeviceCheck({ done }: { done(stream: MediaStream): void }) {
  const t = useT(joinMessages);
  const [stream, setStream] = useState<MediaStream | null>(null);
  const [problem, setProblem] = useState<DeviceProblem>();
  const [starting, setStarting] = useState(false);
  const handedOver = useRef(false);
  const level = useMicLevel(stream);
  const [heard, setHeard] = useState(false);
  useEffect(() => {
    if (level > 0.05) setHeard(true);
  }, [level]);

  useEffect(
    () => () => {
      if (!handedOver.current) stopStream(stream);
    },
    [stream],
  );

  const start = async () => {
    setStarting(true);
    setProblem(undefined);
    try {
      setStream(await openDevices());
    } catch (error) {
      setProblem(problemOf(error));
    } finally {
      setStarting(false);
    }
  };

  const onContinue = () => {
    if (!stream) return;
    handedOver.current = true;
    done(stream);
  };

  return (
    <div className="stack">
      <p>{t('devicesIntro')}</p>
      {stream ? (
        <>
          <Preview stream={stream} label={t('preview')} />
          <div className="alert ok" role="status">
            {t('devicesOk')}
          </div>
          <div className="mic">
            <label htmlFor="mic-level">{t('micLevel')}</label>
            <meter id="mic-level" min={0} max={1} low={0.05} value={level} />
            <span className="hint">{heard ? t('micHeard') : t('micQuiet')}</span>
          </div>
          <button type="button" className="primary" onClick={onContinue}>
            {t('devicesContinue')}
          </button>
        </>
      ) : (
        <>
          <div className="preview placeholder" aria-hidden="true">
            <span className="camera-icon" />
          </div>
          {problem ? (
            <div className="alert error" role="alert" data-problem={problem}>
              {t(PROBLEM_TEXT[problem])}
            </div>
          ) : null}
          <button type="button" className="primary" onClick={start} disabled={starting}>
            {starting ? t('devicesStarting') : problem ? t('retry') : t('devicesStart')}
          </button>
        </>
      )}
    </div>
  );
}
