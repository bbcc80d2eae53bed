// The Prisma client over node-postgres (@prisma/adapter-pg): no query-engine binary is needed.
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient, Prisma } from './generated/prisma/client.js';

export { Prisma, PrismaClient };
export type Db = PrismaClient;
export type Tx = Prisma.TransactionClient;

export function createDb(options: { url: string; poolSize: number }): Db {
  const adapter = new PrismaPg({ connectionString: options.url, max: options.poolSize });
  return new PrismaClient({ adapter });
}

/** True when `error` is a unique-constraint violation (P2002). */
export function isUniqueViolation(error: unknown): boolean {
  return error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002';
}
