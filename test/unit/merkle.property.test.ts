// The Merkle tree against a naive transcription of RFC 9162 §2.1's recursive definitions.
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EMPTY_ROOT, leafHash, MerkleFrontier, MerkleTree, nodeHash, verifyConsistency, verifyInclusion, type Hash } from '../../server/audit/merkle.js';

const k = (n: number) => 2 ** Math.ceil(Math.log2(n) - 1);
const mth = (d: Uint8Array[]): Hash => (d.length === 0 ? EMPTY_ROOT : d.length === 1 ? leafHash(d[0]!) : nodeHash(mth(d.slice(0, k(d.length))), mth(d.slice(k(d.length)))));
const path = (m: number, d: Uint8Array[]): Hash[] => {
  if (d.length <= 1) return [];
  const s = k(d.length);
  return m < s ? [...path(m, d.slice(0, s)), mth(d.slice(s))] : [...path(m - s, d.slice(s)), mth(d.slice(0, s))];
};
const subproof = (m: number, d: Uint8Array[], b: boolean): Hash[] => {
  if (m === d.length) return b ? [] : [mth(d)];
  const s = k(d.length);
  return m <= s ? [...subproof(m, d.slice(0, s), b), mth(d.slice(s))] : [...subproof(m - s, d.slice(s), false), mth(d.slice(0, s))];
};
const proof = (m: number, d: Uint8Array[]) => (m === 0 || m === d.length ? [] : subproof(m, d, true));

// Leaves are distinct (a proof for one of two equal leaves proves the other too).
const leavesArb = (min = 0) =>
  fc.array(fc.uint8Array({ minLength: 0, maxLength: 8 }), { minLength: min, maxLength: 70 }).map((d) => d.map((x, i) => Uint8Array.from([...x, i & 0xff, i >> 8])));
const hex = (hs: Hash[]) => hs.map((h) => Buffer.from(h).toString('hex'));
const flip = (h: Hash, bit: number): Hash => {
  const out = Uint8Array.from(h);
  out[(bit >> 3) % out.length]! ^= 1 << (bit & 7);
  return out;
};

describe('Merkle tree (RFC 9162 §2.1)', () => {
  it('the empty tree and one leaf hash as the RFC says', () => {
    expect(Buffer.from(EMPTY_ROOT).toString('hex')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(Buffer.from(leafHash(new Uint8Array())).toString('hex')).toBe(createHash('sha256').update(Uint8Array.of(0)).digest('hex'));
    expect(hex([new MerkleTree().root()])).toEqual(hex([EMPTY_ROOT]));
  });

  it('roots, frontiers, inclusion and consistency proofs equal the naive definitions, for every size and index', () => {
    fc.assert(
      fc.property(leavesArb(), (d) => {
        const tree = new MerkleTree(d.map(leafHash));
        const frontier = MerkleFrontier.empty();
        for (let n = 0; n <= d.length; n += 1) {
          expect(hex([tree.root(n), frontier.root(), MerkleFrontier.restore(frontier.size, frontier.hashes).root()])).toEqual(hex([mth(d.slice(0, n))]).flatMap((r) => [r, r, r]));
          if (n < d.length) frontier.append(leafHash(d[n]!));
          for (let m = 0; m < n; m += 1) {
            expect(hex(tree.inclusionProof(m, n))).toEqual(hex(path(m, d.slice(0, n))));
            expect(verifyInclusion(leafHash(d[m]!), m, n, tree.inclusionProof(m, n), tree.root(n))).toBe(true);
          }
          for (let m = 0; m <= n; m += 1) {
            expect(hex(tree.consistencyProof(m, n))).toEqual(hex(proof(m, d.slice(0, n))));
            expect(verifyConsistency(m, n, tree.root(m), tree.root(n), tree.consistencyProof(m, n))).toBe(true);
          }
        }
      }),
      { numRuns: 60 },
    );
  });

  it('an inclusion proof fails for a flipped bit, another index, another size or another leaf', () => {
    fc.assert(
      fc.property(leavesArb(1), fc.nat(), fc.nat(), fc.nat(), (d, i, bit, other) => {
        const tree = new MerkleTree(d.map(leafHash));
        const n = d.length;
        const m = i % n;
        const p = tree.inclusionProof(m);
        const root = tree.root();
        const leaf = leafHash(d[m]!);
        expect(verifyInclusion(leaf, m, n, p, root)).toBe(true);
        expect(verifyInclusion(flip(leaf, bit), m, n, p, root)).toBe(false);
        expect(verifyInclusion(leaf, m, n, p, flip(root, bit))).toBe(false);
        if (p.length > 0) {
          const j = other % p.length;
          expect(verifyInclusion(leaf, m, n, p.map((h, x) => (x === j ? flip(h, bit) : h)), root)).toBe(false);
          expect(verifyInclusion(leaf, m, n, p.slice(0, -1), root)).toBe(false);
        }
        expect(verifyInclusion(leaf, m, n, [...p, leaf], root)).toBe(false);
        const m2 = other % (n + 1);
        if (m2 !== m) expect(verifyInclusion(leaf, m2, n, p, root)).toBe(false);
        // Against the true root of a tree of another size, the proof fails too.
        const longer = new MerkleTree([...d.map(leafHash), leafHash(Uint8Array.of(1, 2, 3)), leafHash(Uint8Array.of(4, 5, 6))]);
        for (const n2 of [n - 1, n + 1, n + 2]) if (n2 > m) expect(verifyInclusion(leaf, m, n2, p, longer.root(n2))).toBe(false);
        expect(verifyInclusion(leaf, n, n, p, root)).toBe(false);
      }),
      { numRuns: 400 },
    );
  });

  it('a consistency proof fails for a flipped bit, a truncated proof, or other sizes', () => {
    fc.assert(
      fc.property(leavesArb(2), fc.nat(), fc.nat(), fc.nat(), (d, i, bit, other) => {
        const tree = new MerkleTree(d.map(leafHash));
        const n = d.length;
        const m = 1 + (i % (n - 1));
        const p = tree.consistencyProof(m);
        const [r1, r2] = [tree.root(m), tree.root()];
        expect(verifyConsistency(m, n, r1, r2, p)).toBe(true);
        expect(verifyConsistency(m, n, flip(r1, bit), r2, p)).toBe(false);
        expect(verifyConsistency(m, n, r1, flip(r2, bit), p)).toBe(false);
        const j = other % p.length;
        expect(verifyConsistency(m, n, r1, r2, p.map((h, x) => (x === j ? flip(h, bit) : h)))).toBe(false);
        expect(verifyConsistency(m, n, r1, r2, p.slice(0, -1))).toBe(false);
        expect(verifyConsistency(m, n, r1, r2, [...p, r1])).toBe(false);
        expect(verifyConsistency(m, n, r1, r2, [])).toBe(false);
        for (const [a, b] of [[m + 1, n], [m - 1, n], [m, n + 1], [m, n - 1]] as const) {
          if (a > 0 && b > a && (a !== m || b !== n) && b <= n) {
            const ra = tree.root(a);
            const rb = tree.root(b);
            // The proof for (m, n) must not pass as a proof for other sizes with those sizes' true roots.
            if (hex(tree.consistencyProof(a, b)).join() !== hex(p).join()) expect(verifyConsistency(a, b, ra, rb, p)).toBe(false);
          }
        }
        // A second tree that rewrites any one of the first m leaves is never consistent with the first.
        const forged = new MerkleTree(d.map((x, idx) => leafHash(idx === other % m ? Uint8Array.from([...x, 1]) : x)));
        expect(verifyConsistency(m, n, r1, forged.root(), forged.consistencyProof(m))).toBe(false);
      }),
      { numRuns: 400 },
    );
  });
});
