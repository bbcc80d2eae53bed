// docs/configuration.md documents every variable of the config schema, and no server variable the
// schema lacks.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { envSchema } from '../../server/config.js';

const docs = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');
const variables = Object.keys(envSchema.shape);

/** Variables named in the first column of the tables above the development section. */
function documentedServerVariables(): string[] {
  const serverPart = docs.split(/^## Development/m)[0] ?? '';
  const names: string[] = [];
  for (const line of serverPart.split('\n')) {
    const firstCell = /^\| ([^|]+) \|/.exec(line)?.[1];
    if (!firstCell) continue;
    for (const m of firstCell.matchAll(/`([A-Z][A-Z0-9_]*)`/g)) names.push(m[1]!);
  }
  return names;
}

describe('docs/configuration.md', () => {
  it('has a table row for every variable of the schema', () => {
    const documented = new Set(documentedServerVariables());
    expect(variables.length).toBeGreaterThan(0);
    expect(variables.filter((name) => !documented.has(name))).toEqual([]);
  });

  it('documents no server variable the schema does not have', () => {
    const known = new Set(variables);
    expect(documentedServerVariables().filter((name) => !known.has(name))).toEqual([]);
  });
});
