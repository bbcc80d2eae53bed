// The Prisma client over node-postgres (@prisma/adapter-pg): no query-engine binary is needed.
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient, Prisma } from './generated/prisma/client.js';

export { Prisma, PrismaClient };
export type Db = PrismaClient;
export type Tx = Prisma.TransactionClient;

export function createDb(options: { url: string; poolSize: number }): Db {
  const adapter = new PrismaPg({ connectionString: options.url, max: options.poolSize });
  // Prisma's defaults (2 s to get a connection for a transaction, 5 s to finish it) turn a burst of
  // load — more concurrent writers than pooled connections, all waiting their turn on the audit
  // chain — into 500s for writes that would have committed a moment later (seen in bench/: 200 agents
  // saving answers at once on a pool of 10). Waiting longer is the right answer for a write the user
  // is waiting on; a transaction still cannot hold its connection for more than 15 s.
  return new PrismaClient({ adapter, transactionOptions: { maxWait: 10_000, timeout: 15_000 } });
}

/** True when `error` is a unique-constraint violation (P2002). */
export function isUniqueViolation(error: unknown): boolean {
  return error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002';
}
