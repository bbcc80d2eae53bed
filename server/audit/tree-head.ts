// Signed tree heads and inclusion proofs over the audit log, as published and as checked offline.
// Pure (no database, no network): evidence verifiers and audit:verify import it alike.
//
// Leaf i of the tree is the event at chain position i + 1 (chainSeq); its leaf data is the event's
// chain hash as 32 raw bytes. The chain hash commits to the event's content and to its predecessor,
// so anyone holding an exported event recomputes its leaf with hashAuditRow.
import { z } from 'zod';
import { canonicalJson } from './canonical-json.js';
import { leafHash, verifyConsistency, verifyInclusion, type Hash } from './merkle.js';
import type { Keyring, SignatureCheck } from '../signing/keyring.js';
import type { Signer } from '../signing/signer.js';

export const TREE_HEAD_FORMAT = 'facesign-audit-tree-head/v1';

const hex64 = z.string().regex(/^[0-9a-f]{64}$/, '64 lower-case hex digits');

export const signedTreeHeadSchema = z.object({
  format: z.literal(TREE_HEAD_FORMAT),
  treeSize: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  rootHash: hex64,
  /** ISO-8601 with milliseconds, UTC: when the head was signed, as claimed by the signer. */
  timestamp: z.iso.datetime(),
  keyId: z.string().min(1).max(64),
  algorithm: z.enum(['EdDSA', 'ES256']),
  /** base64url: over treeHeadSigningInput(head). */
  signature: z.string().regex(/^[A-Za-z0-9_-]+$/),
  /** base64 DER RFC 3161 TimeStampToken over SHA-256 of the signature bytes. */
  timestampToken: z.string().regex(/^[A-Za-z0-9+/]+={0,2}$/).optional(),
});
export type SignedTreeHead = z.infer<typeof signedTreeHeadSchema>;

export const inclusionProofSchema = z.object({
  leafIndex: z.number().int().min(0),
  treeSize: z.number().int().min(1),
  /** Hex SHA-256 nodes, leaf upwards (RFC 9162 §2.1.3.1). */
  auditPath: z.array(hex64),
});
export type InclusionProof = z.infer<typeof inclusionProofSchema>;

export const consistencyProofSchema = z.object({
  fromSize: z.number().int().min(0),
  toSize: z.number().int().min(0),
  path: z.array(hex64),
});
export type ConsistencyProof = z.infer<typeof consistencyProofSchema>;

/** The bytes a head's signature covers: canonical JSON of every field but the signature and the TSA token. */
export function treeHeadSigningInput(head: Pick<SignedTreeHead, 'treeSize' | 'rootHash' | 'timestamp' | 'keyId' | 'algorithm'>): Uint8Array {
  return new TextEncoder().encode(canonicalJson({ format: TREE_HEAD_FORMAT, treeSize: head.treeSize, rootHash: head.rootHash, timestamp: head.timestamp, keyId: head.keyId, algorithm: head.algorithm }));
}

export async function signTreeHead(head: { treeSize: number; rootHash: Hash; timestamp: Date }, signer: Signer): Promise<SignedTreeHead> {
  const unsigned = { treeSize: head.treeSize, rootHash: toHex(head.rootHash), timestamp: head.timestamp.toISOString(), keyId: signer.keyId, algorithm: signer.algorithm };
  const signature = await signer.sign(treeHeadSigningInput(unsigned));
  return { format: TREE_HEAD_FORMAT, ...unsigned, signature: Buffer.from(signature).toString('base64url') };
}

/** Whether the head is well-formed and signed by a key of `keyring` that was valid at the head's timestamp. */
export function verifyTreeHeadSignature(head: unknown, keyring: Keyring): SignatureCheck | { ok: false; reason: 'malformed'; detail: string } {
  const parsed = signedTreeHeadSchema.safeParse(head);
  if (!parsed.success) return { ok: false, reason: 'malformed', detail: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') };
  const h = parsed.data;
  return keyring.verify({ keyId: h.keyId, algorithm: h.algorithm, data: treeHeadSigningInput(h), signature: Buffer.from(h.signature, 'base64url'), signedAt: new Date(h.timestamp) });
}

/** The leaf data of an event: its chain hash (hex) as 32 bytes. */
export function auditLeafData(chainHash: string): Uint8Array {
  if (!/^[0-9a-f]{64}$/.test(chainHash)) throw new Error(`not a chain hash: ${chainHash}`);
  return Buffer.from(chainHash, 'hex');
}

export function auditLeafHash(chainHash: string): Hash {
  return leafHash(auditLeafData(chainHash));
}

/**
 * Whether `proof` shows the event with chain hash `chainHash` at chain position `chainSeq` (leaf
 * chainSeq - 1) under `head`. The head's signature is checked separately (verifyTreeHeadSignature).
 */
export function verifyEventInclusion(event: { chainHash: string; chainSeq: number }, proof: InclusionProof, head: Pick<SignedTreeHead, 'treeSize' | 'rootHash'>): boolean {
  if (proof.treeSize !== head.treeSize || proof.leafIndex !== event.chainSeq - 1) return false;
  return verifyInclusion(auditLeafHash(event.chainHash), proof.leafIndex, proof.treeSize, proof.auditPath.map(fromHex), fromHex(head.rootHash));
}

/** Whether `proof` shows that `newer` extends `older` (an append-only log between them). */
export function verifyHeadConsistency(older: Pick<SignedTreeHead, 'treeSize' | 'rootHash'>, newer: Pick<SignedTreeHead, 'treeSize' | 'rootHash'>, proof: readonly string[]): boolean {
  return verifyConsistency(older.treeSize, newer.treeSize, fromHex(older.rootHash), fromHex(newer.rootHash), proof.map(fromHex));
}

/** Where a head lives in the recordings bucket: sizes zero-padded so names sort in tree order. */
export const TREE_HEADS_PREFIX = 'audit/heads/';
export const TREE_LEAVES_PREFIX = 'audit/leaves/';
export const treeHeadObjectKey = (treeSize: number) => `${TREE_HEADS_PREFIX}${String(treeSize).padStart(20, '0')}.json`;
/** The chain hashes of the leaves a head added since the previous one: (fromSize, toSize]. */
export const treeLeavesObjectKey = (toSize: number) => `${TREE_LEAVES_PREFIX}${String(toSize).padStart(20, '0')}.json`;

export const LEAVES_FORMAT = 'facesign-audit-leaves/v1';
export const publishedLeavesSchema = z.object({
  format: z.literal(LEAVES_FORMAT),
  fromSize: z.number().int().min(0),
  toSize: z.number().int().min(1),
  chainHashes: z.array(hex64),
});
export type PublishedLeaves = z.infer<typeof publishedLeavesSchema>;

export function toHex(hash: Uint8Array): string {
  return Buffer.from(hash).toString('hex');
}

export function fromHex(hex: string): Hash {
  return Uint8Array.from(Buffer.from(hex, 'hex'));
}
