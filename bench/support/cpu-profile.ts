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

/** A named share of a profile: samples with a frame on their stack whose function and file match `frame`. */
export interface ProfileBucket {
  name: string;
  frame: RegExp;
}

/**
 * For each bucket, the share of the busy samples of the .cpuprofile files in `dir` that have a
 * matching frame anywhere on their stack (inclusive time: buckets may overlap). Frames are matched
 * as `<function> <file>`, the file relative to node_modules/, server/ or recordings/.
 */
export async function attributeCpuProfiles(dir: string, buckets: readonly ProfileBucket[]): Promise<{ name: string; percent: number }[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.cpuprofile'));
  const hits = buckets.map(() => 0);
  let busy = 0;
  for (const file of files) {
    const profile = JSON.parse(await readFile(join(dir, file), 'utf8')) as CpuProfile & { nodes: (ProfileNode & { children?: number[] })[] };
    const parentOf = new Map<number, number>();
    for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);
    const label = new Map(profile.nodes.map((n) => [n.id, `${n.callFrame.functionName} ${n.callFrame.url.replace(/^.*\/(node_modules|server|recordings)\//, '$1/')}`]));
    // Which buckets each node's stack falls in, computed once per node.
    const memo = new Map<number, boolean[]>();
    const bucketsOf = (id: number): boolean[] => {
      const known = memo.get(id);
      if (known) return known;
      const parent = parentOf.get(id);
      const inherited = parent === undefined ? buckets.map(() => false) : bucketsOf(parent);
      const own = label.get(id) ?? '';
      const result = inherited.map((hit, i) => hit || buckets[i]!.frame.test(own));
      memo.set(id, result);
      return result;
    };
    for (const id of profile.samples) {
      if (label.get(id)?.startsWith('(idle) ')) continue;
      busy += 1;
      bucketsOf(id).forEach((hit, i) => {
        if (hit) hits[i]! += 1;
      });
    }
  }
  return buckets.map((b, i) => ({ name: b.name, percent: busy === 0 ? 0 : Math.round((1000 * hits[i]!) / busy) / 10 }));
}
