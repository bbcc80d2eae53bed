// Idempotency-Key support for mutating API calls. The first request's response is stored in the
// same transaction as its effect; a repeat with the same key and body gets the stored response,
// a repeat with another body is refused. Concurrent duplicates serialise on the primary key.
import type { Db, Tx } from './client.js';
import { isUniqueViolation } from './client.js';
import { AppError } from '../shared/errors.js';
import { canonicalJson } from '../audit/canonical-json.js';
import { sha256Hex } from '../auth/tokens.js';

export interface StoredResponse {
  status: number;
  body: unknown;
  replayed: boolean;
}

export interface IdempotencyRequest {
  scope: string;
  key: string;
  body: unknown;
}

export const requestHash = (body: unknown): string => sha256Hex(canonicalJson(body));

export async function findReplay(db: Db | Tx, request: IdempotencyRequest): Promise<StoredResponse | null> {
  const record = await db.idempotencyRecord.findUnique({ where: { scope_key: { scope: request.scope, key: request.key } } });
  if (!record) return null;
  if (record.requestHash !== requestHash(request.body)) {
    throw new AppError('IDEMPOTENCY_KEY_REUSED', 'This Idempotency-Key was already used with a different request body');
  }
  return { status: record.statusCode, body: record.responseBody, replayed: true };
}

export async function storeResponse(tx: Tx, request: IdempotencyRequest, status: number, body: unknown): Promise<void> {
  await tx.idempotencyRecord.create({
    data: { scope: request.scope, key: request.key, requestHash: requestHash(request.body), statusCode: status, responseBody: body as object },
  });
}

/**
 * Runs `effect` once per (scope, key). When a concurrent twin wins the race, the loser's
 * transaction fails on the unique key and it answers with the winner's stored response.
 */
export async function runIdempotent(
  db: Db,
  request: IdempotencyRequest | undefined,
  effect: (tx: Tx) => Promise<{ status: number; body: unknown }>,
  onConflict: () => Promise<StoredResponse>,
): Promise<StoredResponse> {
  if (request) {
    const replay = await findReplay(db, request);
    if (replay) return replay;
  }
  try {
    return await db.$transaction(async (tx) => {
      const result = await effect(tx);
      if (request) await storeResponse(tx, request, result.status, result.body);
      return { ...result, replayed: false };
    });
  } catch (error) {
    if (!isUniqueViolation(error)) throw error;
    if (request) {
      const replay = await findReplay(db, request);
      if (replay) return replay;
    }
    return onConflict();
  }
}
