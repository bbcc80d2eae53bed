// Signed tree heads: one node at a time (a session advisory lock on its own connection) extends the
// Merkle tree over the sealed events from the last head's right edge, signs the new head, and
// publishes it to the recordings bucket under Object Lock (when the bucket has it) before recording
// it in the database. The bucket's copy is the anchor: a database superuser who rewrites events and
// head rows cannot rewrite a locked object, and audit:verify reads heads from the bucket.
import type { Logger } from 'pino';
import { sqlAutocommit, sqlPool, type Db } from '../db/client.js';
import { build, rows as all } from '../db/typed-sql.js';
import { MerkleFrontier, MerkleTree } from './merkle.js';
import {
  auditLeafHash,
  fromHex,
  LEAVES_FORMAT,
  signedTreeHeadSchema,
  signTreeHead,
  toHex,
  TREE_HEADS_PREFIX,
  treeHeadObjectKey,
  treeLeavesObjectKey,
  type InclusionProof,
  type PublishedLeaves,
  type SignedTreeHead,
} from './tree-head.js';
import type { Signer } from '../signing/signer.js';
import type { RecordingStore } from '../../recordings/object-store.js';

const AUDIT_CHECKPOINT_LOCK = 7_241_002;
const BATCH = 5000;

export type TreeHeadStore = Pick<RecordingStore, 'put' | 'objectLockSupported' | 'applyRetention' | 'getBytes' | 'listKeys' | 'versioningEnabled' | 'listVersionsUnder'>;

/** An RFC 3161 time-stamping authority (tsa.ts): a TimeStampToken (DER) over SHA-256 of `data`. */
export interface TimestampAuthority {
  stamp(data: Uint8Array): Promise<Uint8Array>;
}

export interface CheckpointSettings {
  /** Object Lock retention for published heads; 'off' writes them without retention. */
  objectLockMode: 'COMPLIANCE' | 'GOVERNANCE' | 'off';
  retentionYears: number;
  tsa?: TimestampAuthority | undefined;
}

interface HeadRow {
  treeSize: bigint;
  rootHash: string;
  timestamp: Date;
  keyId: string;
  algorithm: string;
  signature: string;
  timestampToken: Uint8Array | null;
  frontier: string[];
}

export interface AuditCheckpointsOptions {
  db: Db;
  store: TreeHeadStore;
  signer: Signer;
  settings: CheckpointSettings;
  log: Logger;
}

export class AuditCheckpoints {
  /** Leaf hashes read so far, for proofs (the log only grows; a rewrite shows up as proofs that fail). */
  private readonly tree = new MerkleTree();
  /**
   * Loads run one after another: two interleaved loads (concurrent evidence exports) would append the
   * same rows after each other's. A failed load still fails its caller; the next one starts afresh.
   */
  private loading: Promise<void> = Promise.resolve();

  private readonly db: Db;
  private readonly store: TreeHeadStore;
  private readonly signer: Signer;
  private readonly settings: CheckpointSettings;
  private readonly log: Logger;

  constructor(options: AuditCheckpointsOptions) {
    this.db = options.db;
    this.store = options.store;
    this.signer = options.signer;
    this.settings = options.settings;
    this.log = options.log;
  }

  /**
   * Publishes a signed head over every sealed event, unless nothing was sealed since the last head or
   * (without `wait`) another node holds the checkpoint lock. Returns the new head, or undefined.
   * `wait` queues for the lock while holding a pooled connection: for tests and tools, not for request paths.
   */
  async checkpoint(options: { wait?: boolean; now?: Date } = {}): Promise<SignedTreeHead | undefined> {
    const client = await sqlPool(this.db).connect();
    let locked = false;
    try {
      if (options.wait) {
        await client.query('SELECT pg_advisory_lock($1)', [AUDIT_CHECKPOINT_LOCK]);
        locked = true;
      } else {
        const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [AUDIT_CHECKPOINT_LOCK]);
        locked = rows[0]?.locked === true;
        if (!locked) return undefined;
      }
      return await this.checkpointLocked(options.now ?? new Date());
    } finally {
      if (locked) await client.query('SELECT pg_advisory_unlock($1)', [AUDIT_CHECKPOINT_LOCK]).catch(() => undefined);
      client.release();
    }
  }

  private async checkpointLocked(now: Date): Promise<SignedTreeHead | undefined> {
    const last = await this.latestRow();
    // Nothing sealed since the last head: done, without a word to the bucket.
    if ((await this.leavesAfter(Number(last?.treeSize ?? 0n), 1)).length === 0) return undefined;
    await this.checkAgainstBucket(last);
    const frontier = last ? MerkleFrontier.restore(Number(last.treeSize), last.frontier.map(fromHex)) : MerkleFrontier.empty();
    if (last && toHex(frontier.root()) !== last.rootHash) {
      throw new Error(`the recorded right edge of tree head ${last.treeSize} does not reproduce its root: run npm run audit:verify`);
    }
    const fromSize = frontier.size;
    const chainHashes: string[] = [];
    for (;;) {
      const rows = await this.leavesAfter(frontier.size, BATCH);
      for (const row of rows) {
        if (row.chainSeq !== frontier.size + 1) throw new Error(`the audit chain skips from position ${frontier.size} to ${row.chainSeq}`);
        frontier.append(auditLeafHash(row.hash));
        chainHashes.push(row.hash);
      }
      if (rows.length < BATCH) break;
    }
    if (frontier.size === fromSize) return undefined;

    const objectKey = treeHeadObjectKey(frontier.size);
    // A checkpoint that stopped between publishing and recording left a head of this size: adopt it
    // if it is this very tree. A published head is never replaced (in a versioned bucket a second PUT
    // would put a new version in front of it).
    let signed = await this.publishedHead(objectKey);
    if (signed && signed.rootHash !== toHex(frontier.root())) {
      throw new Error(`a different tree head of size ${frontier.size} is already published: refusing to publish over it (run npm run audit:verify)`);
    }
    if (!signed) {
      const head = await signTreeHead({ treeSize: frontier.size, rootHash: frontier.root(), timestamp: now }, this.signer);
      signed = { ...head, ...(await this.timestamp(head)) };
      const leaves: PublishedLeaves = { format: LEAVES_FORMAT, fromSize, toSize: frontier.size, chainHashes };
      // The leaves first, then the head: a head in the bucket always has its leaves beside it.
      await this.publish(treeLeavesObjectKey(frontier.size), leaves, now);
      await this.publish(objectKey, signed, now);
    }
    await this.db.auditTreeHead.create({
      data: {
        treeSize: BigInt(signed.treeSize),
        rootHash: signed.rootHash,
        timestamp: new Date(signed.timestamp),
        keyId: signed.keyId,
        algorithm: signed.algorithm,
        signature: signed.signature,
        timestampToken: signed.timestampToken ? Buffer.from(signed.timestampToken, 'base64') : null,
        frontier: frontier.hashes.map(toHex),
        objectKey,
      },
    });
    this.log.info({ treeSize: signed.treeSize, rootHash: signed.rootHash, added: chainHashes.length, timestamped: Boolean(signed.timestampToken) }, 'audit tree head published');
    return signed;
  }

  /**
   * The tree is only ever extended from a head the bucket holds: a database whose head rows were
   * rewritten or removed (by someone able to bypass the table's trigger) must not get a genuine
   * signature over a forged history.
   */
  private async checkAgainstBucket(last: HeadRow | null): Promise<void> {
    if (!last) {
      const published = await this.store.listKeys(TREE_HEADS_PREFIX);
      if (published.length > 0) throw new Error(`the bucket holds ${published.length} published tree heads but the database none: refusing to start a new tree (run npm run audit:verify)`);
      return;
    }
    const published = await this.publishedHead(treeHeadObjectKey(Number(last.treeSize)));
    if (!published) throw new Error(`tree head ${last.treeSize} is recorded in the database but not published in the bucket: refusing to extend it (run npm run audit:verify)`);
    if (published.rootHash !== last.rootHash || published.signature !== last.signature) {
      throw new Error(`the database's tree head ${last.treeSize} differs from the published one: refusing to extend it (run npm run audit:verify)`);
    }
  }

  private async publishedHead(key: string): Promise<SignedTreeHead | undefined> {
    const bytes = await this.store.getBytes(key);
    if (!bytes) return undefined;
    const parsed = signedTreeHeadSchema.safeParse(JSON.parse(bytes.toString('utf8')));
    if (!parsed.success) throw new Error(`${key} in the bucket is not a signed tree head`);
    return parsed.data;
  }

  private async timestamp(head: SignedTreeHead): Promise<{ timestampToken?: string }> {
    if (!this.settings.tsa) return {};
    try {
      const token = await this.settings.tsa.stamp(Buffer.from(head.signature, 'base64url'));
      return { timestampToken: Buffer.from(token).toString('base64') };
    } catch (error) {
      // The head still anchors the log; only its independent time is missing. Say so every time.
      this.log.error({ err: error, treeSize: head.treeSize }, 'the time-stamping authority did not stamp the audit tree head; publishing it without a timestamp');
      return {};
    }
  }

  private async publish(key: string, body: unknown, now: Date): Promise<void> {
    await this.store.put(key, Buffer.from(`${JSON.stringify(body, null, 1)}\n`), 'application/json');
    if (this.settings.objectLockMode !== 'off' && (await this.store.objectLockSupported())) {
      const until = new Date(now);
      until.setUTCFullYear(until.getUTCFullYear() + this.settings.retentionYears);
      await this.store.applyRetention(key, until, this.settings.objectLockMode);
    }
  }

  /** The newest head recorded in the database. */
  async latest(): Promise<SignedTreeHead | undefined> {
    const row = await this.latestRow();
    return row ? headOfRow(row) : undefined;
  }

  /**
   * A signed head covering every event in `chainSeqs` (publishing one now when the newest does not
   * cover them all) and each event's inclusion proof under it. The events must be sealed.
   */
  async prove(chainSeqs: readonly (number | bigint)[]): Promise<{ head: SignedTreeHead; proofs: Map<number, InclusionProof> }> {
    const positions = chainSeqs.map(Number);
    const highest = Math.max(0, ...positions);
    if (positions.some((p) => !Number.isSafeInteger(p) || p < 1)) throw new Error('only sealed events (chainSeq ≥ 1) have inclusion proofs');
    const head = await this.headCovering(highest);
    await this.loadLeaves(head.treeSize);
    if (toHex(this.tree.root(head.treeSize)) !== head.rootHash) {
      throw new Error(`the sealed events no longer reproduce tree head ${head.treeSize}: run npm run audit:verify`);
    }
    const proofs = new Map<number, InclusionProof>();
    for (const position of positions) {
      proofs.set(position, { leafIndex: position - 1, treeSize: head.treeSize, auditPath: this.tree.inclusionProof(position - 1, head.treeSize).map(toHex) });
    }
    return { head, proofs };
  }

  /**
   * The newest head, once it covers chain position `position`: publishing one when this node gets the
   * lock, else waiting for the node that has it. Waiting is a poll, not a queue on the lock, so that
   * concurrent exports never hold pooled connections while the lock holder needs one.
   */
  private async headCovering(position: number, timeoutMs = 30_000): Promise<SignedTreeHead> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const head = await this.latest();
      if (head && head.treeSize >= position) return head;
      const published = await this.checkpoint();
      if (published && published.treeSize >= position) return published;
      if (!published && Date.now() > deadline) throw new Error(`no tree head covers chain position ${position}: is the event sealed?`);
      if (!published) await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  private loadLeaves(size: number): Promise<void> {
    const load = this.loading.then(() => this.appendLeaves(size));
    this.loading = load.catch(() => undefined);
    return load;
  }

  private async appendLeaves(size: number): Promise<void> {
    while (this.tree.size < size) {
      const rows = await this.leavesAfter(this.tree.size, Math.min(BATCH, size - this.tree.size));
      if (rows.length === 0) throw new Error(`the audit chain ends at ${this.tree.size}, before ${size}`);
      for (const row of rows) {
        if (row.chainSeq !== this.tree.size + 1) throw new Error(`the audit chain skips from position ${this.tree.size} to ${row.chainSeq}`);
        this.tree.append(auditLeafHash(row.hash));
      }
    }
  }

  private async leavesAfter(size: number, limit: number): Promise<{ chainSeq: number; hash: string }[]> {
    const rows = await all(
      sqlAutocommit(this.db),
      build
        .selectFrom('AuditEvent as a')
        .select(['a.chainSeq as position', 'a.hash'])
        .where('a.chainSeq', '>', String(size))
        .orderBy('a.chainSeq')
        .limit(limit)
        // The sealer sets a row's position and hash together.
        .$narrowType<{ position: string; hash: string }>(),
      'audit-leaves-after',
    );
    return rows.map((row) => ({ chainSeq: Number(row.position), hash: row.hash }));
  }

  private async latestRow(): Promise<HeadRow | null> {
    return this.db.auditTreeHead.findFirst({ orderBy: { treeSize: 'desc' } });
  }
}

function headOfRow(row: HeadRow): SignedTreeHead {
  return {
    format: 'facesign-audit-tree-head/v1',
    treeSize: Number(row.treeSize),
    rootHash: row.rootHash,
    timestamp: row.timestamp.toISOString(),
    keyId: row.keyId,
    algorithm: row.algorithm as SignedTreeHead['algorithm'],
    signature: row.signature,
    ...(row.timestampToken ? { timestampToken: Buffer.from(row.timestampToken).toString('base64') } : {}),
  };
}
