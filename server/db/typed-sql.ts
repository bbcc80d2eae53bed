// SQL typed by the schema. Statements Prisma cannot express, or that run on a hot path where Prisma's
// own work per call costs more than the statement (see `sqlTransaction`), are built with Kysely over
// the table types `prisma generate` writes from schema.prisma (dev/kysely-types.mjs), so a
// renamed column or a wrong value type fails the type check instead of a query at run time, and a
// row's type comes from the schema instead of a cast.
//
// Kysely here only builds statements; it never connects. They run through `Sql`, on whichever
// connection the caller holds: the shared pool, one of its transactions, or a Prisma transaction.
import { DummyDriver, Kysely, PostgresAdapter, PostgresIntrospector, PostgresQueryCompiler, type Compilable, type RawBuilder, type Selectable } from 'kysely';
import type { DB } from './generated/kysely/types.js';
import type { Sql } from './client.js';

export type { DB };
/** A table's row as a SELECT returns it. */
export type Row<T extends keyof DB> = Selectable<DB[T]>;

/** The statement builder: `build.updateTable('Attempt')…`; run what it builds with `rows` or `first`. */
export const build = new Kysely<DB>({
  dialect: {
    createAdapter: () => new PostgresAdapter(),
    createDriver: () => new DummyDriver(),
    createIntrospector: (db) => new PostgresIntrospector(db),
    createQueryCompiler: () => new PostgresQueryCompiler(),
  },
});

/**
 * Runs a built statement through `sql` and returns its rows (a write returns rows only with
 * `returning`). `name` makes it a prepared statement on a pool connection: give one only to a
 * statement whose text never changes. Dates are sent as ISO strings, which both drivers read the same
 * way (see `Sql`).
 */
export async function rows<O>(sql: Sql, statement: Compilable<O> | RawBuilder<O>, name?: string): Promise<O[]> {
  // A built query compiles itself; a raw fragment compiles against the builder (the argument the former ignores).
  const compiled = statement.compile(build);
  const values = compiled.parameters.map((value) => (value instanceof Date ? value.toISOString() : value));
  return sql.query<O>({ ...(name ? { name } : {}), text: compiled.sql, values });
}

/** The first row a built statement returns, or undefined. */
export async function first<O>(sql: Sql, statement: Compilable<O> | RawBuilder<O>, name?: string): Promise<O | undefined> {
  return (await rows(sql, statement, name))[0];
}

/**
 * A statement built and compiled once, for the busiest writes: `shape` builds it from named
 * parameters (placeholders while it is built), and each run fills in the values in the compiled order
 * (no building or compiling per call). Each parameter must reach the statement as one value (a
 * comparison, `eb.val`, a `set`), never spread into a list (`in`), which would make the statement's
 * shape depend on the value; values the shape writes itself (a `1`, a `null`) stay as they were.
 */
export function prepared<P extends Record<string, unknown>, O>(name: string, keys: readonly (keyof P & string)[], shape: (p: P) => Compilable<O>): (sql: Sql, params: P) => Promise<O[]> {
  const marks = new Map<string, keyof P & string>(keys.map((key) => [`\u0000${name}:${key}`, key]));
  // Placeholders stand in for the values while the statement is built; only their positions are kept.
  const placeholders = Object.fromEntries([...marks].map(([mark, key]) => [key, mark])) as P;
  const compiled = shape(placeholders).compile();
  type Slot = { key: keyof P & string } | { value: unknown };
  const slots = compiled.parameters.map((value): Slot => (typeof value === 'string' && marks.has(value) ? { key: marks.get(value)! } : { value }));
  const unused = keys.filter((key) => !slots.some((slot) => 'key' in slot && slot.key === key));
  if (unused.length > 0) throw new Error(`prepared statement ${name}: ${unused.join(', ')} never reached the statement`);
  const param = (value: unknown) => (value instanceof Date ? value.toISOString() : value);
  return (sql, params) => sql.query<O>({ name, text: compiled.sql, values: slots.map((slot) => param('key' in slot ? params[slot.key] : slot.value)) });
}
