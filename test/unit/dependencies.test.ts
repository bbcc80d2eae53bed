// The dependency manifest and lockfile: `npm ci` installs exactly the lockfile on any platform, and a
// production install (`npm ci --omit=dev`) has every package the server imports and nothing else.
import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const REPO = new URL('../../', import.meta.url).pathname;
const manifest = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as {
  engines: { node: string };
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};
interface LockedPackage {
  version?: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}
const lock = JSON.parse(readFileSync(join(REPO, 'package-lock.json'), 'utf8')) as { lockfileVersion: number; packages: Record<string, LockedPackage> };

/** Where npm finds `name` for the package at `from`: its own node_modules, then each ancestor's. */
function resolveLocked(from: string, name: string): string | undefined {
  for (let base = from; ; ) {
    const candidate = `${base ? `${base}/` : ''}node_modules/${name}`;
    if (lock.packages[candidate]) return candidate;
    if (!base) return undefined;
    const parent = base.lastIndexOf('/node_modules/');
    base = parent < 0 ? '' : base.slice(0, parent);
  }
}

/** Bare package names a source file imports (static, dynamic and import.meta.resolve). */
function importedPackages(source: string): string[] {
  const specifiers = [...source.matchAll(/(?:\bfrom\s+|\bimport\s*\(\s*|\bimport\s+|import\.meta\.resolve\(\s*|\brequire\(\s*)['"]([^'"]+)['"]/g)].map((m) => m[1]!);
  return specifiers
    .filter((s) => !s.startsWith('.') && !s.startsWith('/') && !s.startsWith('node:'))
    .map((s) => (s.startsWith('@') ? s.split('/').slice(0, 2).join('/') : s.split('/')[0]!))
    .filter((name) => !builtinModules.includes(name));
}

function sourceFiles(dir: string): string[] {
  return readdirSync(join(REPO, dir), { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && /\.(ts|mjs|js)$/.test(entry.name) && !entry.name.endsWith('.d.ts'))
    .map((entry) => join(entry.parentPath, entry.name));
}

describe('package-lock.json', () => {
  it('holds every dependency of every locked package, optional per-platform builds included', () => {
    // A lock written against a registry that lacked some platform builds leaves them out, and npm ci
    // then refuses it ("Missing: … from lock file") on a clean clone.
    const missing: string[] = [];
    for (const [path, entry] of Object.entries(lock.packages)) {
      for (const name of Object.keys({ ...entry.dependencies, ...entry.optionalDependencies })) {
        if (!resolveLocked(path, name)) missing.push(`${path || '(root)'} -> ${name}`);
      }
      for (const [name] of Object.entries(entry.peerDependencies ?? {})) {
        if (!entry.peerDependenciesMeta?.[name]?.optional && !resolveLocked(path, name)) missing.push(`${path || '(root)'} -> ${name} (peer)`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('matches package.json', () => {
    const root = lock.packages[''] as LockedPackage & { devDependencies?: Record<string, string>; engines?: Record<string, string> };
    expect(root.dependencies).toEqual(manifest.dependencies);
    expect(root.devDependencies).toEqual(manifest.devDependencies);
    expect(root.engines).toEqual(manifest.engines);
  });
});

describe('package.json', () => {
  it('pins every dependency to one version', () => {
    const ranged = Object.entries({ ...manifest.dependencies, ...manifest.devDependencies })
      .filter(([, spec]) => !/^(npm:(@[^/]+\/)?[^@]+@)?\d+\.\d+\.\d+(-[\w.]+)?$/.test(spec))
      .map(([name, spec]) => `${name}@${spec}`);
    expect(ranged).toEqual([]);
  });

  it('lists as dependencies exactly what the server, the recordings pipeline and the migrations import at run time', () => {
    const files = [...sourceFiles('server'), ...sourceFiles('recordings'), join(REPO, 'prisma/engine/schema-engine.mjs')];
    const used = new Map<string, string>();
    for (const file of files) for (const name of importedPackages(readFileSync(file, 'utf8'))) used.set(name, file);
    const notProduction = [...used].filter(([name]) => !manifest.dependencies[name]).map(([name, file]) => `${name} (${file.replace(REPO, '')})`);
    expect(notProduction).toEqual([]);
    // Packages reached only through another dependency (the pg connection-string parser, the generated
    // client's runtime) still count: each dependency is imported somewhere.
    const unused = Object.keys(manifest.dependencies).filter((name) => !used.has(name));
    expect(unused).toEqual([]);
  });

  it('keeps the console, its build tools and the TypeScript tooling out of the production install', () => {
    for (const name of ['react', 'react-dom', 'livekit-client', 'vite', '@vitejs/plugin-react', 'tsx', 'typescript', 'prisma', 'prisma-cli']) {
      expect(manifest.dependencies, name).not.toHaveProperty(name);
    }
    // @prisma/client declares an optional peer on `prisma`: under that name npm would keep the CLI
    // (and its ~130 packages) in `npm ci --omit=dev`. The CLI is installed under another name.
    expect(lock.packages['node_modules/prisma']).toBeUndefined();
    expect(manifest.devDependencies['prisma-cli']).toMatch(/^npm:prisma@/);
  });

  it('supports Node 22.12 and later', () => {
    expect(manifest.engines.node).toBe('>=22.12');
    expect(readFileSync(join(REPO, '.nvmrc'), 'utf8').trim()).toBe('24');
  });
});
