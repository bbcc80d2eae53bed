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
