// The Dockerfile, read instruction by instruction: a build stage and a runtime stage, a non-root user,
// tini as PID 1, a health check on /healthz, the port the server listens on, and an image command
// whose every program is something the build produces.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { configVariables, repoFile } from './deploy-support.js';

interface Instruction {
  keyword: string;
  args: string;
}

/** Instructions with continuation lines joined and comments dropped. */
function instructions(text: string): Instruction[] {
  const joined = text.replace(/\\\n/g, ' ');
  return joined
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const [keyword = '', ...rest] = line.split(/\s+/);
      return { keyword: keyword.toUpperCase(), args: rest.join(' ') };
    });
}

const all = instructions(repoFile('Dockerfile'));
const stages: Instruction[][] = [];
for (const instruction of all) {
  if (instruction.keyword === 'FROM') stages.push([]);
  stages.at(-1)?.push(instruction);
}
const runtime = stages.at(-1) ?? [];
const last = (keyword: string) => runtime.filter((i) => i.keyword === keyword).at(-1)?.args;
const entrypointScript = repoFile('deploy/docker/facesign.sh');

describe('Dockerfile', () => {
  it('builds in one stage and runs from another that copies only the build output', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(all.find((i) => i.keyword === 'FROM')?.args).toMatch(/ AS build$/i);
    expect(runtime.some((i) => i.keyword === 'COPY' && /--from=build .*\/app\/dist/.test(i.args))).toBe(true);
    expect(runtime.some((i) => i.keyword === 'RUN' && /npm ci --omit=dev/.test(i.args))).toBe(true);
    expect(stages[0]!.some((i) => i.keyword === 'RUN' && i.args === 'npm run build')).toBe(true);
  });

  it('starts from a Node.js base pinned to a version that package.json supports', () => {
    const base = all.find((i) => i.keyword === 'ARG' && i.args.startsWith('NODE_IMAGE='))?.args.slice('NODE_IMAGE='.length) ?? '';
    const version = /^node:(\d+)\.(\d+)\.(\d+)-[a-z]+-slim$/.exec(base);
    expect(version, base).not.toBeNull();
    const engines = (JSON.parse(repoFile('package.json')) as { engines: { node: string } }).engines.node;
    const minimumMajor = Number(/>=\s*(\d+)/.exec(engines)?.[1]);
    expect(Number(version![1])).toBeGreaterThanOrEqual(minimumMajor);
  });

  it('runs as a non-root user under tini', () => {
    const user = last('USER') ?? 'root';
    expect(user.split(':')[0]).not.toMatch(/^(root|0)$/);
    const entrypoint = JSON.parse(last('ENTRYPOINT') ?? '[]') as string[];
    expect(entrypoint.slice(0, 2)).toEqual(['/usr/bin/tini', '--']);
    expect(runtime.some((i) => i.keyword === 'RUN' && /apt-get install .*\btini\b/.test(i.args))).toBe(true);
  });

  it('checks /healthz on the port it exposes, which is the PORT it gives the server', () => {
    expect(last('HEALTHCHECK')).toMatch(/\/healthz/);
    const env = Object.fromEntries([...(last('ENV') ?? '').matchAll(/([A-Z_]+)=(\S+)/g)].map((m) => [m[1]!, m[2]!]));
    expect(last('EXPOSE')).toBe(env.PORT);
    expect(env.HOST).toBe('0.0.0.0');
    expect(Object.keys(env).filter((name) => !configVariables.has(name))).toEqual([]);
  });

  it('serves by default and has migrations as their own command, each a program the build compiles', () => {
    expect(JSON.parse(last('CMD') ?? '[]')).toEqual(['serve']);
    expect(entrypointScript).toMatch(/^\s+serve\)\s*$/m);
    expect(entrypointScript).toMatch(/^\s+migrate\)\s*$/m);
    const programs = [...entrypointScript.matchAll(/node (dist\/\S+)\.js/g)].map((m) => m[1]!);
    expect(programs).toEqual(expect.arrayContaining(['dist/server/main', 'dist/server/db/migrate-cli', 'dist/server/db/roles-cli']));
    for (const program of programs) {
      const source = fileURLToPath(new URL(`../../${program.replace(/^dist\//, '')}.ts`, import.meta.url));
      expect(existsSync(source), `${program}.js is compiled from ${source}`).toBe(true);
    }
  });

  it('keeps secrets, dependencies and build output out of the build context, but not what the build needs', () => {
    const ignored = repoFile('.dockerignore').split('\n').filter((line) => line.trim() !== '' && !line.startsWith('#'));
    for (const path of ['.env', '.git', 'node_modules', 'dist']) expect(ignored, path).toContain(path);
    for (const path of ['package-lock.json', 'prisma', 'server', 'recordings', 'agent-console', 'deploy/docker']) {
      expect(ignored.some((pattern) => pattern === path || path.startsWith(`${pattern}/`)), path).toBe(false);
    }
  });
});
