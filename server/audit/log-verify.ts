// Verifies the audit log end to end: the hash chain (chain-verify.ts), then every signed tree head
// published in the bucket — its signature against the keyring, its RFC 3161 token, the leaves
// published beside it, consistency with the head before it — and that the events in the database
// reproduce each head. The bucket is the anchor: heads and leaves are read from there, and the
// database's own head rows are only compared with them.
import { sqlAutocommit, type Db } from '../db/client.js';
import { build, rows as all } from '../db/typed-sql.js';
import { verifyAuditChain, type ChainVerdict } from './chain-verify.js';
import { MerkleTree, verifyConsistency } from './merkle.js';
import {
  auditLeafHash,
  fromHex,
  publishedLeavesSchema,
  signedTreeHeadSchema,
  type PublishedLeaves,
  toHex,
  TREE_HEADS_PREFIX,
  TREE_LEAVES_PREFIX,
  treeHeadObjectKey,
  treeLeavesObjectKey,
  verifyTreeHeadSignature,
  type SignedTreeHead,
} from './tree-head.js';
import { verifyTimestampToken } from './tsa.js';
import type { TreeHeadStore } from './checkpoint.service.js';
import type { Keyring } from '../signing/keyring.js';

export interface LogVerdict {
  ok: boolean;
  chain: ChainVerdict;
  /** Heads found in the bucket, and the newest of them. */
  heads: number;
  latestHead: SignedTreeHead | undefined;
  /** Sealed events after the newest head: in the database only, not yet anchored. */
  unanchored: { count: number; oldestRecordedAt: Date | null };
  /** Failures, the first one first. Any failure makes ok false. */
  problems: string[];
  /** Worth knowing, not failures (e.g. a TSA token that could not be checked for want of a trusted certificate). */
  notes: string[];
}

interface LeafRow {
  chainSeq: number;
  seq: string;
  id: string;
  hash: string;
}

/** Clock skew allowed between a head's own timestamp and its TSA's time. */
const TSA_SKEW_MS = 5 * 60_000;

export async function verifyAuditLog(input: { db: Db; store: TreeHeadStore; keyring: Keyring; tsaTrustPem?: readonly string[] | undefined }): Promise<LogVerdict> {
  const { db, store, keyring } = input;
  const problems: string[] = [];
  const notes: string[] = [];

  const chain = await verifyAuditChain(db);
  if (!chain.ok) {
    const { seq, id, reason } = chain.broken;
    problems.push(`audit chain BROKEN at seq ${seq} (id ${id}): ${reason === 'content_changed' ? 'row content does not match its hash' : 'prevHash does not link to the previous row'}; ${chain.checked} events before it are intact`);
  }

  const leaves = await readLeaves(db);
  const dbTree = new MerkleTree();
  for (const row of leaves) {
    if (row.chainSeq !== dbTree.size + 1) {
      problems.push(`the audit chain skips from position ${dbTree.size} to ${row.chainSeq} (event seq ${row.seq}, id ${row.id})`);
      break;
    }
    dbTree.append(auditLeafHash(row.hash));
  }

  await checkVersions(store, problems);
  const heads = await readHeads(store, problems);
  /** The chain hashes the bucket publishes, position by position, and the tree over them. */
  const published: string[] = [];
  const publishedTree = new MerkleTree();
  let compared = 0;
  let previous: SignedTreeHead | undefined;
  let firstEventReported = false;
  for (const head of heads) {
    const name = `head ${head.treeSize} (${treeHeadObjectKey(head.treeSize)})`;
    const signature = verifyTreeHeadSignature(head, keyring);
    if (!signature.ok) problems.push(`${name}: signature not valid: ${signature.detail}`);
    if (head.timestampToken) {
      if (input.tsaTrustPem && input.tsaTrustPem.length > 0) {
        const stamp = verifyTimestampToken(Buffer.from(head.timestampToken, 'base64'), Buffer.from(head.signature, 'base64url'), input.tsaTrustPem);
        if (!stamp.ok) problems.push(`${name}: RFC 3161 timestamp not valid: ${stamp.detail}`);
        else if (new Date(head.timestamp).getTime() > stamp.genTime.getTime() + TSA_SKEW_MS) {
          problems.push(`${name}: claims ${head.timestamp} but was time-stamped earlier, at ${stamp.genTime.toISOString()}`);
        }
      } else {
        notes.push(`${name}: carries an RFC 3161 timestamp, not checked (no trusted TSA certificate: TSA_CERT_FILE or --tsa-trust)`);
      }
    }
    if (previous && new Date(head.timestamp) < new Date(previous.timestamp)) problems.push(`${name}: its timestamp ${head.timestamp} is before head ${previous.treeSize}'s (${previous.timestamp})`);

    // The leaves published beside the head extend those published before (a checkpoint interrupted
    // after publishing leaves a head whose leaves the next one repeats: they must agree).
    const batch = await readPublishedLeaves(store, head.treeSize);
    if (typeof batch === 'string') {
      problems.push(`${name}: ${batch}`);
      break;
    }
    if (batch.fromSize > published.length) {
      problems.push(`${name}: its leaves start after position ${batch.fromSize}, but the heads before publish only ${published.length}`);
      break;
    }
    const conflict = batch.chainHashes.findIndex((hash, i) => batch.fromSize + i < published.length && published[batch.fromSize + i] !== hash);
    if (conflict >= 0) {
      problems.push(`${name}: its leaves contradict those published before at chain position ${batch.fromSize + conflict + 1}: the log was rewritten between heads`);
      break;
    }
    for (const hash of batch.chainHashes.slice(published.length - batch.fromSize)) {
      published.push(hash);
      publishedTree.append(auditLeafHash(hash));
    }
    if (toHex(publishedTree.root(head.treeSize)) !== head.rootHash) problems.push(`${name}: the leaves published in ${treeLeavesObjectKey(head.treeSize)} do not reproduce its root`);
    // Consistency with the previous head, from the published leaves alone (the bucket, not the database).
    if (previous) {
      const proof = publishedTree.consistencyProof(previous.treeSize, head.treeSize);
      if (!verifyConsistency(previous.treeSize, head.treeSize, fromHex(previous.rootHash), fromHex(head.rootHash), proof)) {
        problems.push(`${name}: not consistent with head ${previous.treeSize}: the log was rewritten between them`);
      }
    }

    // The database's events must be the ones published: name the first that is not.
    for (let position = compared + 1; position <= head.treeSize && !firstEventReported; position += 1) {
      const row = leaves[position - 1];
      if (!row || row.chainSeq !== position) {
        problems.push(`${name}: covers ${head.treeSize} events but the database has no sealed event at chain position ${position}: events were removed`);
        firstEventReported = true;
      } else if (row.hash !== published[position - 1]) {
        problems.push(`event seq ${row.seq} (id ${row.id}, chain position ${position}) is not the event anchored by ${name}: its chain hash in the database differs from the published one (changed after it was anchored)`);
        firstEventReported = true;
      }
    }
    compared = Math.max(compared, head.treeSize);
    if (!firstEventReported && dbTree.size >= head.treeSize && toHex(dbTree.root(head.treeSize)) !== head.rootHash) {
      problems.push(`${name}: the events in the database do not reproduce its root`);
    }
    previous = head;
  }

  await compareDatabaseHeads(db, heads, problems, notes);

  const anchoredSize = previous?.treeSize ?? 0;
  if (!previous) notes.push('no signed tree head is published yet: nothing anchors the chain outside the database');
  const tail = await unanchoredTail(db, anchoredSize);
  return { ok: problems.length === 0, chain, heads: heads.length, latestHead: previous, unanchored: tail, problems, notes };
}

async function readLeaves(db: Db): Promise<LeafRow[]> {
  const out: LeafRow[] = [];
  let after = 0;
  for (;;) {
    const rows = await all(
      sqlAutocommit(db),
      build
        .selectFrom('AuditEvent as a')
        .select(['a.chainSeq as position', 'a.seq', 'a.id', 'a.hash'])
        .where('a.chainSeq', '>', String(after))
        .orderBy('a.chainSeq')
        .limit(10_000)
        // The sealer sets a row's position and hash together.
        .$narrowType<{ position: string; hash: string }>(),
    );
    for (const row of rows) out.push({ chainSeq: Number(row.position), seq: row.seq, id: row.id, hash: row.hash });
    if (rows.length < 10_000) return out;
    after = out[out.length - 1]!.chainSeq;
  }
}

async function readHeads(store: TreeHeadStore, problems: string[]): Promise<SignedTreeHead[]> {
  const heads: SignedTreeHead[] = [];
  for (const key of await store.listKeys(TREE_HEADS_PREFIX)) {
    const bytes = await store.getBytes(key);
    let parsed: ReturnType<typeof signedTreeHeadSchema.safeParse>;
    try {
      parsed = signedTreeHeadSchema.safeParse(JSON.parse(bytes?.toString('utf8') ?? 'null'));
    } catch {
      problems.push(`${key}: not JSON`);
      continue;
    }
    if (!parsed.success) {
      problems.push(`${key}: not a signed tree head (${parsed.error.issues[0]?.message ?? 'invalid'})`);
      continue;
    }
    if (treeHeadObjectKey(parsed.data.treeSize) !== key) {
      problems.push(`${key}: holds the head of size ${parsed.data.treeSize}, which belongs at ${treeHeadObjectKey(parsed.data.treeSize)}`);
      continue;
    }
    heads.push(parsed.data);
  }
  return heads.sort((a, b) => a.treeSize - b.treeSize);
}

/**
 * In a versioned bucket (every Object Lock bucket is one) a head is never deleted or replaced in place:
 * a plain DELETE leaves a delete marker in front of the locked version, a second PUT a newer version.
 * Either would hide what was published from a reader of the current versions, so either is a failure.
 */
async function checkVersions(store: TreeHeadStore, problems: string[]): Promise<void> {
  if (!(await store.versioningEnabled())) return;
  const byKey = new Map<string, { versions: number; deleteMarkers: number }>();
  for (const prefix of [TREE_HEADS_PREFIX, TREE_LEAVES_PREFIX]) {
    for (const version of await store.listVersionsUnder(prefix)) {
      const entry = byKey.get(version.key) ?? { versions: 0, deleteMarkers: 0 };
      if (version.deleteMarker) entry.deleteMarkers += 1;
      else entry.versions += 1;
      byKey.set(version.key, entry);
    }
  }
  for (const [key, { versions, deleteMarkers }] of [...byKey].sort(([a], [b]) => a.localeCompare(b))) {
    if (deleteMarkers > 0) problems.push(`${key} was deleted in the bucket (a delete marker hides ${versions} version(s)): a published head or its leaves were hidden`);
    else if (versions > 1) problems.push(`${key} was written ${versions} times in the bucket: a published head or its leaves were replaced`);
  }
}

async function readPublishedLeaves(store: TreeHeadStore, toSize: number): Promise<PublishedLeaves | string> {
  const key = treeLeavesObjectKey(toSize);
  const bytes = await store.getBytes(key);
  if (!bytes) return `its leaves (${key}) are missing from the bucket`;
  let parsed: ReturnType<typeof publishedLeavesSchema.safeParse>;
  try {
    parsed = publishedLeavesSchema.safeParse(JSON.parse(bytes.toString('utf8')));
  } catch {
    return `${key} is not JSON`;
  }
  if (!parsed.success) return `${key} is not a list of published leaves`;
  const leaves = parsed.data;
  if (leaves.toSize !== toSize || leaves.chainHashes.length !== toSize - leaves.fromSize) {
    return `${key} covers (${leaves.fromSize}, ${leaves.toSize}] with ${leaves.chainHashes.length} hashes, not the head's ${toSize}`;
  }
  return leaves;
}

/** The database's head rows must be copies of published heads; a row with no published head means the bucket lost it. */
async function compareDatabaseHeads(db: Db, heads: readonly SignedTreeHead[], problems: string[], notes: string[]): Promise<void> {
  const rows = await db.auditTreeHead.findMany({ orderBy: { treeSize: 'asc' } });
  const bySize = new Map(heads.map((h) => [h.treeSize, h]));
  for (const row of rows) {
    const head = bySize.get(Number(row.treeSize));
    if (!head) {
      problems.push(`head ${row.treeSize} is recorded in the database but not published in the bucket (${row.objectKey})`);
    } else if (head.rootHash !== row.rootHash || head.signature !== row.signature || head.keyId !== row.keyId || head.timestamp !== row.timestamp.toISOString()) {
      problems.push(`head ${row.treeSize}: the database's copy differs from the published head`);
    }
    bySize.delete(Number(row.treeSize));
  }
  for (const size of bySize.keys()) notes.push(`head ${size} is published but not recorded in the database (a checkpoint interrupted after publishing)`);
}

async function unanchoredTail(db: Db, anchoredSize: number): Promise<{ count: number; oldestRecordedAt: Date | null }> {
  const tail = await db.auditEvent.aggregate({ where: { chainSeq: { gt: BigInt(anchoredSize) } }, _count: { _all: true }, _min: { recordedAt: true } });
  return { count: tail._count._all, oldestRecordedAt: tail._min.recordedAt };
}
