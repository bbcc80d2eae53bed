// Tests assert through the API, the evidence manifest or a feature's repository, so a schema change
// breaks only the tests that are about the storage itself. A test that does read the database says
// why, in a `// storage: <why>` comment on the line or just above it (`// fixture: <why>` for raw SQL
// that sets up a fault); this fails on a read without one. Writes are not reads and are left alone.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const TEST = join(import.meta.dirname, '..');
/** A Prisma read through the app's client (`t.facesign.db.x.findMany(`, `cluster.db.x.count(`) or raw SQL. */
const READ = /\.db\.\w+\.(?:findUnique|findUniqueOrThrow|findFirst|findFirstOrThrow|findMany|count|aggregate|groupBy)\(|\.db\.\$queryRaw/;
const REASON = /\/\/ (?:storage|fixture): \S/;

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'unit' ? [] : sources(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

/** `file:line` of each read with no reason on its line or in the three lines above. */
export function unexplainedReads(file: string, text: string): string[] {
  const lines = text.split('\n');
  return lines.flatMap((line, i) => (READ.test(line) && !lines.slice(Math.max(0, i - 3), i + 1).some((l) => REASON.test(l)) ? [`${file}:${i + 1}`] : []));
}

describe('database reads in tests', () => {
  it('each say why the test reads storage instead of the API', () => {
    const found = sources(TEST).flatMap((path) => unexplainedReads(relative(TEST, path), readFileSync(path, 'utf8')));
    expect(found).toEqual([]);
  });

  it('sees a read without a reason, and accepts one with a reason', () => {
    const text = ['const a = await t.facesign.db.attempt.findMany({});', '// storage: the inbox row is what this test is about', 'const e = await t.facesign.db.liveKitEvent.count();', 'await t.facesign.db.recording.update({});'].join('\n');
    expect(unexplainedReads('x.ts', text)).toEqual(['x.ts:1']);
  });
});
