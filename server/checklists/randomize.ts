// Per-session variation of a checklist, so answers cannot be read from a prepared sheet: the item order
// inside `randomize` sections and the liveness prompt. Both are pure functions of the template and a seed
// (the session id), so a reconnect or another node computes the same result.
import { createHash } from 'node:crypto';

/** The parts of a template document that ordering needs (a TemplateDocument fits). */
export interface OrderableTemplate {
  sections: readonly { id: string; randomize: boolean; items: readonly { id: string }[] }[];
}

/** The parts of a template document that the liveness draw needs (a TemplateDocument fits). */
export interface LivenessTemplate {
  livenessPool?: readonly { id: string }[] | undefined;
}

/**
 * A deterministic stream of uint32 values: SHA-256 in counter mode over (seed, purpose, block).
 * Each purpose (one section, the liveness draw) has its own stream, so editing one section of a template
 * does not reshuffle the others.
 */
function uint32Stream(seed: string, purpose: string): () => number {
  let block = 0;
  let bytes = Buffer.alloc(0);
  let offset = 0;
  return () => {
    if (offset + 4 > bytes.length) {
      bytes = createHash('sha256').update(JSON.stringify([seed, purpose, block])).digest();
      block += 1;
      offset = 0;
    }
    const value = bytes.readUInt32BE(offset);
    offset += 4;
    return value;
  };
}

const UINT32_RANGE = 2 ** 32;

/** Uniform integer in [0, n), by rejection sampling (no modulo bias). */
function uniformBelow(next: () => number, n: number): number {
  const limit = UINT32_RANGE - (UINT32_RANGE % n);
  for (;;) {
    const value = next();
    if (value < limit) return value % n;
  }
}

function shuffled<T>(items: readonly T[], next: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i -= 1) {
    const j = uniformBelow(next, i + 1);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

/**
 * Every item id exactly once: sections in document order; items of a `randomize: true` section in an
 * order drawn from the seed, other sections in document order.
 */
export function sessionItemOrder(doc: OrderableTemplate, seed: string): string[] {
  return doc.sections.flatMap((section) => {
    const ids = section.items.map((item) => item.id);
    return section.randomize ? shuffled(ids, uint32Stream(seed, `section:${section.id}`)) : ids;
  });
}

/** The id of the liveness prompt for this seed, uniform over the pool; undefined when there is no pool. */
export function pickLivenessPrompt(doc: LivenessTemplate, seed: string): string | undefined {
  const pool = doc.livenessPool ?? [];
  if (pool.length === 0) return undefined;
  return pool[uniformBelow(uint32Stream(seed, 'liveness'), pool.length)]?.id;
}
