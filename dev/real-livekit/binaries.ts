// Where dev/real-livekit/install.sh puts the real servers, and what versions they are.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** egress-standin is facesign's own audio-only stand-in for LiveKit Egress (dev/real-livekit/egress-standin). */
export type RealBinary = 'livekit-server' | 'livekit-sip' | 'versitygw' | 'egress-standin';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

export const REAL_LIVEKIT_CACHE = process.env.FACESIGN_REAL_LIVEKIT_CACHE ?? join(repoRoot, '.cache', 'real-livekit');
export const INSTALL_SCRIPT = join(repoRoot, 'dev', 'real-livekit', 'install.sh');

export function realBinary(name: RealBinary): string {
  return join(REAL_LIVEKIT_CACHE, 'bin', name);
}

/** Whether everything the real stack runs is installed (install.sh --check). */
export function realStackInstalled(): boolean {
  try {
    execFileSync(INSTALL_SCRIPT, ['--check'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** `module@version` of each built server (the stamp install.sh writes; egress-standin's is a source hash), and SIPp's own version line. */
export function realVersions(): Record<RealBinary | 'sipp', string> {
  const stamp = (name: RealBinary) => {
    const file = `${realBinary(name)}.version`;
    return existsSync(file) ? readFileSync(file, 'utf8').trim() : 'not installed';
  };
  let sipp = 'not installed';
  try {
    sipp = /SIPp v\d+(\.\d+)*/.exec(execFileSync('sipp', ['-v'], { encoding: 'utf8' }))?.[0] ?? 'unknown';
  } catch (error) {
    // `sipp -v` exits non-zero after printing its version.
    const out = String((error as { stdout?: unknown }).stdout ?? '');
    sipp = /SIPp v\d+(\.\d+)*/.exec(out)?.[0] ?? sipp;
  }
  return { 'livekit-server': stamp('livekit-server'), 'livekit-sip': stamp('livekit-sip'), versitygw: stamp('versitygw'), 'egress-standin': stamp('egress-standin'), sipp };
}

/** "livekit-server v1.13.5, livekit-sip v1.8.0, …" for banners and test output. */
export function describeVersions(parts: readonly (RealBinary | 'sipp')[] = ['livekit-server', 'livekit-sip', 'versitygw', 'egress-standin', 'sipp']): string {
  const v = realVersions();
  return parts.map((part) => (part === 'sipp' ? v.sipp : `${part} ${v[part].replace(/^.*@/, '')}`)).join(', ');
}
