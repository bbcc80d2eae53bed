// The table types SQL is checked against (dev/kysely-types.mjs, run by `prisma generate`): each column
// typed as node-postgres returns it.
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain ES module of the build tooling, without declarations
import { render } from '../../dev/kysely-types.mjs';

const field = (name: string, type: string, more: Record<string, unknown> = {}) => ({ name, type, kind: 'scalar', isList: false, isRequired: true, hasDefaultValue: false, ...more });

describe('kysely table types', () => {
  const text = (render as (datamodel: unknown) => string)({
    enums: [{ name: 'Role', values: [{ name: 'AGENT' }, { name: 'ADMIN' }] }],
    models: [
      {
        name: 'User',
        dbName: null,
        fields: [
          field('id', 'String', { hasDefaultValue: true }),
          field('seq', 'BigInt'),
          field('amount', 'Decimal'),
          field('roles', 'Role', { kind: 'enum', isList: true }),
          field('role', 'Role', { kind: 'enum' }),
          field('tags', 'String', { isList: true }),
          field('lastSeenAt', 'DateTime', { isRequired: false }),
          field('profile', 'Json', { isRequired: false }),
          field('sessions', 'LoginSession', { kind: 'object', isList: true }),
        ],
      },
      { name: 'Renamed', dbName: 'renamed_table', fields: [field('n', 'Int', { dbName: 'n_col' })] },
    ],
  });

  it('types each column as the driver returns it', () => {
    expect(text).toContain('  id: Generated<string>;');
    // int8 and numeric come back as strings; an enum array as its literal.
    expect(text).toContain('  seq: string;');
    expect(text).toContain('  amount: string;');
    expect(text).toContain('  roles: string;');
    expect(text).toContain('  role: Role;');
    expect(text).toContain('  tags: string[];');
    expect(text).toContain('  lastSeenAt: Timestamp | null;');
    expect(text).toContain('  profile: JsonValue | null;');
    expect(text).toContain('export type Role = "AGENT" | "ADMIN";');
  });

  it('leaves relations out and uses the database names', () => {
    expect(text).not.toContain('sessions');
    expect(text).toContain('  n_col: number;');
    expect(text).toMatch(/export interface DB \{\n {2}User: User;\n {2}renamed_table: Renamed;\n\}/);
  });
});
