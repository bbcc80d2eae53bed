// The Merkle Tree Hash of RFC 9162 §2.1 over SHA-256, with inclusion and consistency proofs and the
// algorithms that verify them. Pure: no I/O, bytes in, bytes out. The audit log's leaves are the
// sealed events in chain order (tree-head.ts says what a leaf's data is).
import { createHash } from 'node:crypto';

export type Hash = Uint8Array;

/** MTH({}) = SHA-256() */
export const EMPTY_ROOT: Hash = createHash('sha256').digest();

/** MTH({d}) = SHA-256(0x00 || d) */
export function leafHash(data: Uint8Array): Hash {
  return createHash('sha256').update(LEAF_PREFIX).update(data).digest();
}

/** SHA-256(0x01 || left || right) */
export function nodeHash(left: Uint8Array, right: Uint8Array): Hash {
  return createHash('sha256').update(NODE_PREFIX).update(left).update(right).digest();
}

const LEAF_PREFIX = Uint8Array.of(0x00);
const NODE_PREFIX = Uint8Array.of(0x01);

/** The largest power of two smaller than n (n > 1). */
function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/**
 * The right edge of a tree: the roots of its perfect subtrees from left (largest) to right (smallest),
 * one per set bit of the size. Appending a leaf merges equal-sized subtrees, so keeping a log's tree
 * head current costs O(log n) per leaf and O(log n) space, never a rebuild.
 */
export class MerkleFrontier {
  private constructor(private size_: number, private readonly nodes: Hash[]) {}

  static empty(): MerkleFrontier {
    return new MerkleFrontier(0, []);
  }

  /** A frontier as `hashes` (left to right) describes it; throws when their count does not fit `size`. */
  static restore(size: number, hashes: readonly Hash[]): MerkleFrontier {
    if (!Number.isSafeInteger(size) || size < 0 || popcount(size) !== hashes.length) throw new Error(`a frontier of size ${size} has ${popcount(size)} subtrees, not ${hashes.length}`);
    return new MerkleFrontier(size, hashes.map((h) => Uint8Array.from(h)));
  }

  get size(): number {
    return this.size_;
  }

  /** The subtree roots, left to right (store them to resume with `restore`). */
  get hashes(): Hash[] {
    return this.nodes.map((h) => Uint8Array.from(h));
  }

  append(leaf: Hash): void {
    let node = leaf;
    // Each trailing 1 bit of the old size is a subtree of the new leaf's height: merge it.
    for (let size = this.size_; size & 1; size >>>= 1) node = nodeHash(this.nodes.pop()!, node);
    this.nodes.push(node);
    this.size_ += 1;
  }

  root(): Hash {
    if (this.nodes.length === 0) return EMPTY_ROOT;
    let root = this.nodes[this.nodes.length - 1]!;
    for (let i = this.nodes.length - 2; i >= 0; i -= 1) root = nodeHash(this.nodes[i]!, root);
    return root;
  }

  clone(): MerkleFrontier {
    return new MerkleFrontier(this.size_, this.nodes.map((h) => Uint8Array.from(h)));
  }
}

function popcount(n: number): number {
  let count = 0;
  for (let v = n; v > 0; v = Math.floor(v / 2)) count += v % 2;
  return count;
}

/** Hashes of 32 bytes, packed into one growing buffer: no object per hash, so millions of leaves stay small. */
class HashList {
  private bytes = new Uint8Array(32 * 1024);
  length = 0;

  push(hash: Uint8Array): void {
    if (hash.length !== 32) throw new Error('a SHA-256 hash has 32 bytes');
    if ((this.length + 1) * 32 > this.bytes.length) {
      const grown = new Uint8Array(this.bytes.length * 2);
      grown.set(this.bytes);
      this.bytes = grown;
    }
    this.bytes.set(hash, this.length * 32);
    this.length += 1;
  }

  get(index: number): Hash | undefined {
    return index >= 0 && index < this.length ? this.bytes.subarray(index * 32, index * 32 + 32) : undefined;
  }
}

/**
 * A tree over leaf hashes that answers roots, inclusion proofs and consistency proofs for any size up
 * to its own. It keeps every level of perfect subtrees (2n hashes, 64 bytes per leaf), so a proof
 * costs O(log² n) hashes.
 */
export class MerkleTree {
  /** levels[h].get(i): the root of the perfect subtree of 2^h leaves starting at leaf i·2^h. */
  private readonly levels: HashList[] = [new HashList()];

  constructor(leaves: Iterable<Hash> = []) {
    for (const leaf of leaves) this.append(leaf);
  }

  get size(): number {
    return this.levels[0]!.length;
  }

  append(leaf: Hash): void {
    this.levels[0]!.push(leaf);
    let index = this.levels[0]!.length - 1;
    for (let h = 0; index % 2 === 1; h += 1) {
      const level = this.levels[h]!;
      const parent = nodeHash(level.get(index - 1)!, level.get(index)!);
      if (!this.levels[h + 1]) this.levels.push(new HashList());
      this.levels[h + 1]!.push(parent);
      index = (index - 1) / 2;
    }
  }

  leaf(index: number): Hash {
    const leaf = this.levels[0]!.get(index);
    if (!leaf) throw new RangeError(`no leaf ${index} in a tree of ${this.size}`);
    return leaf;
  }

  /** MTH of the first `size` leaves. */
  root(size = this.size): Hash {
    this.checkSize(size);
    return size === 0 ? EMPTY_ROOT : this.subtree(0, size);
  }

  /** PATH(index, D[size]) of RFC 9162 §2.1.3.1: the audit path of leaf `index` in the tree of the first `size` leaves. */
  inclusionProof(index: number, size = this.size): Hash[] {
    this.checkSize(size);
    if (!Number.isSafeInteger(index) || index < 0 || index >= size) throw new RangeError(`leaf ${index} is not in a tree of ${size}`);
    const path: Hash[] = [];
    let start = 0;
    let n = size;
    let m = index;
    // Descend from the root; each sibling is pushed on the way down, and the path lists them leaf-up.
    while (n > 1) {
      const k = splitPoint(n);
      if (m < k) {
        path.push(this.subtree(start + k, n - k));
        n = k;
      } else {
        path.push(this.subtree(start, k));
        start += k;
        m -= k;
        n -= k;
      }
    }
    return path.reverse();
  }

  /** PROOF(m, D[n]) of RFC 9162 §2.1.4.1: that the tree of `n` leaves extends the tree of its first `m`. */
  consistencyProof(m: number, n = this.size): Hash[] {
    this.checkSize(n);
    if (!Number.isSafeInteger(m) || m < 0 || m > n) throw new RangeError(`no consistency proof from ${m} to ${n}`);
    if (m === 0 || m === n) return [];
    const proof: Hash[] = [];
    // SUBPROOF(m, D[start:start+n], b), unrolled: nodes are collected root-down, returned leaf-up.
    let start = 0;
    let size = n;
    let mm = m;
    let whole = true;
    for (;;) {
      if (mm === size) {
        if (!whole) proof.push(this.subtree(start, size));
        break;
      }
      const k = splitPoint(size);
      if (mm <= k) {
        proof.push(this.subtree(start + k, size - k));
        size = k;
      } else {
        proof.push(this.subtree(start, k));
        start += k;
        mm -= k;
        size -= k;
        whole = false;
      }
    }
    return proof.reverse();
  }

  /** MTH(D[start:start+n]) for the ranges the proofs visit: a perfect aligned subtree, or a split of one. */
  private subtree(start: number, n: number): Hash {
    if ((n & (n - 1)) === 0 && start % n === 0) {
      const h = Math.log2(n);
      const node = this.levels[h]?.get(start / n);
      if (node) return node;
    }
    if (n === 1) return this.leaf(start);
    const k = splitPoint(n);
    return nodeHash(this.subtree(start, k), this.subtree(start + k, n - k));
  }

  private checkSize(size: number): void {
    if (!Number.isSafeInteger(size) || size < 0 || size > this.size) throw new RangeError(`the tree has ${this.size} leaves, not ${size}`);
  }
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i += 1) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/** RFC 9162 §2.1.3.2: whether `proof` shows the leaf with hash `leaf` at `index` in the tree of `size` with root `root`. */
export function verifyInclusion(leaf: Hash, index: number, size: number, proof: readonly Hash[], root: Hash): boolean {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size) return false;
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && equal(r, root);
}

/** RFC 9162 §2.1.4.2: whether `proof` shows that the tree of `size2` (root `root2`) extends the tree of `size1` (root `root1`). */
export function verifyConsistency(size1: number, size2: number, root1: Hash, root2: Hash, proof: readonly Hash[]): boolean {
  if (!Number.isSafeInteger(size1) || !Number.isSafeInteger(size2) || size1 < 0 || size2 < size1) return false;
  if (size1 === size2) return proof.length === 0 && equal(root1, root2);
  if (size1 === 0) return proof.length === 0;
  if (proof.length === 0) return false;
  let path = [...proof];
  // A first tree that is a perfect subtree of the second is a node of the proof, implicitly.
  if ((size1 & (size1 - 1)) === 0) path = [root1, ...path];
  let fn = size1 - 1;
  let sn = size2 - 1;
  while (fn % 2 === 1) {
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  let fr = path[0]!;
  let sr = path[0]!;
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return equal(fr, root1) && equal(sr, root2) && sn === 0;
}
