// Text that goes into a LIKE pattern. Prisma's startsWith, contains and endsWith put the value into
// (I)LIKE as it is (test/integration/security-data.test.ts shows it), so without this % and _ act as
// wildcards: a search for "LF_1" finds "LFX1", and "%" finds everything.

/** The text as a literal LIKE pattern: %, _ and the escape character itself (PostgreSQL's default, \) escaped. */
export function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}
