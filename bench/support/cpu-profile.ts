// A V8 CPU profile (`node --cpu-prof`) in a few lines: the functions with the most self time, and
// self time by package (node_modules/<package>, node: internals, facesign's own files), so a bench
// that misses a target can say where the time went.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
}

function packageOf(url: string): string {
  if (url === '') return '(native, GC, idle)';
  if (url.startsWith('node:')) return 'node: internals';
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (m) return m[1]!;
  const own = /\/(server|recordings)\/(.+)$/.exec(url);
  return own ? `facesign ${own[1]}/${own[2]!.split('/')[0]}` : url.split('/').slice(-2).join('/');
}

const share = (n: number, total: number) => `${((100 * n) / total).toFixed(1)} %`;

/** Lines summarising every .cpuprofile in `dir`: the top `top` functions and packages by self time. */
export async function summariseCpuProfiles(dir: string, top: number): Promise<string[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.cpuprofile'));
  const lines: string[] = [];
  for (const file of files) {
    const profile = JSON.parse(await readFile(join(dir, file), 'utf8')) as CpuProfile;
    const byId = new Map(profile.nodes.map((n) => [n.id, n]));
    const byFunction = new Map<string, number>();
    const byPackage = new Map<string, number>();
    let busy = 0;
    for (const id of profile.samples) {
      const frame = byId.get(id)?.callFrame;
      if (!frame || frame.functionName === '(idle)') continue;
      busy += 1;
      const where = frame.url ? `${frame.url.replace(/^.*\/(node_modules|server|recordings)\//, '$1/')}:${frame.lineNumber + 1}` : '';
      const fn = `${frame.functionName || '(anonymous)'} ${where}`.trim();
      byFunction.set(fn, (byFunction.get(fn) ?? 0) + 1);
      const pkg = packageOf(frame.url);
      byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + 1);
    }
    const idle = profile.samples.length - busy;
    lines.push(`${file}: ${profile.samples.length} samples, ${share(idle, profile.samples.length)} idle; of the busy samples:`);
    for (const [fn, n] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, top)) lines.push(`  ${share(n, busy)} ${fn}`);
    lines.push(`  by package: ${[...byPackage].sort((a, b) => b[1] - a[1]).slice(0, top).map(([p, n]) => `${p} ${share(n, busy)}`).join(', ')}`);
  }
  return lines;
}
