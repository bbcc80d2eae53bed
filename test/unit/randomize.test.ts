import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { pickLivenessPrompt, sessionItemOrder, type OrderableTemplate } from '../../server/checklists/randomize.js';
import type { TemplateDocument } from '../../server/checklists/template.schema.js';
import { itemsInOrder, loadTemplateFiles } from '../../server/checklists/templates.js';

let call: TemplateDocument;
let video: TemplateDocument;

beforeAll(async () => {
  const docs = await loadTemplateFiles();
  call = docs.find((d) => d.key === 'call-default')!;
  video = docs.find((d) => d.key === 'video-default')!;
});

/** Templates of 1–6 sections with 1–8 items each; ids are unique by construction. */
const templateArb: fc.Arbitrary<OrderableTemplate> = fc
  .array(fc.record({ randomize: fc.boolean(), size: fc.integer({ min: 1, max: 8 }) }), { minLength: 1, maxLength: 6 })
  .map((sections) => ({
    sections: sections.map((s, si) => ({
      id: `s${si}`,
      randomize: s.randomize,
      items: Array.from({ length: s.size }, (_, ii) => ({ id: `s${si}_i${ii}` })),
    })),
  }));

const seedArb = fc.oneof(fc.uuid(), fc.string());
const seeds = (n: number) => Array.from({ length: n }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`);

describe('sessionItemOrder', () => {
  it('is a permutation of every item id', () => {
    fc.assert(
      fc.property(templateArb, seedArb, (doc, seed) => {
        const order = sessionItemOrder(doc, seed);
        const all = doc.sections.flatMap((s) => s.items.map((i) => i.id));
        expect(order).toHaveLength(all.length);
        expect([...order].sort()).toEqual([...all].sort());
      }),
    );
  });

  it('keeps sections in document order, and fixed sections in document order inside', () => {
    fc.assert(
      fc.property(templateArb, seedArb, (doc, seed) => {
        const order = sessionItemOrder(doc, seed);
        let at = 0;
        for (const section of doc.sections) {
          const block = order.slice(at, at + section.items.length);
          const ids = section.items.map((i) => i.id);
          expect([...block].sort()).toEqual([...ids].sort());
          if (!section.randomize) expect(block).toEqual(ids);
          at += section.items.length;
        }
      }),
    );
  });

  it('is the same for the same seed (stable across reconnects and nodes)', () => {
    fc.assert(
      fc.property(templateArb, seedArb, (doc, seed) => {
        expect(sessionItemOrder(structuredClone(doc), seed)).toEqual(sessionItemOrder(doc, seed));
      }),
    );
  });

  it('a section does not reshuffle when another section changes', () => {
    const order = (doc: OrderableTemplate) => sessionItemOrder(doc, 'session-1').filter((id) => id.startsWith('loan_') || id.startsWith('repayment_'));
    const edited = structuredClone(video);
    edited.sections.find((s) => s.id === 'identity')!.items.pop();
    expect(order(edited)).toEqual(order(video));
  });

  it('varies with the seed: every position of a randomised section sees every item', () => {
    for (const doc of [call, video]) {
      for (const section of doc.sections.filter((s) => s.randomize)) {
        const offset = itemsInOrder(doc).findIndex((i) => i.id === section.items[0]!.id);
        const seen = section.items.map(() => new Set<string>());
        for (const seed of seeds(400)) {
          sessionItemOrder(doc, seed)
            .slice(offset, offset + section.items.length)
            .forEach((id, position) => seen[position]!.add(id));
        }
        for (const ids of seen) expect(ids.size, `${doc.key} ${section.id}`).toBe(section.items.length);
      }
    }
  });

  it('draws all orders of a section about equally often', () => {
    // 4 items: 24 orders, 4800 seeds -> 200 expected each.
    const doc = { sections: [{ id: 'x', randomize: true, items: ['a', 'b', 'c', 'd'].map((id) => ({ id })) }] };
    const counts = new Map<string, number>();
    for (const seed of seeds(4800)) {
      const key = sessionItemOrder(doc, seed).join();
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    expect(counts.size).toBe(24);
    for (const n of counts.values()) expect(n).toBeGreaterThan(140);
    for (const n of counts.values()) expect(n).toBeLessThan(260);
  });

  it('leaves the opening consent first and the contract and closing in document order', () => {
    for (const seed of seeds(50)) {
      const order = sessionItemOrder(video, seed);
      expect(order[0]).toBe('consent_recording');
      expect(order.slice(-5)).toEqual(['contract_key_terms', 'contract_agree_to_sign', 'contract_signing_otp', 'closing_statement', 'risk_assessment']);
    }
  });
});

describe('pickLivenessPrompt', () => {
  it('is deterministic per seed and always from the pool', () => {
    const pool = video.livenessPool!.map((p) => p.id);
    fc.assert(
      fc.property(seedArb, (seed) => {
        const pick = pickLivenessPrompt(video, seed);
        expect(pool).toContain(pick);
        expect(pickLivenessPrompt(structuredClone(video), seed)).toBe(pick);
      }),
    );
  });

  it('is uniform-ish over the pool', () => {
    const pool = video.livenessPool!;
    const n = 8000;
    const counts = new Map(pool.map((p) => [p.id, 0]));
    for (const seed of seeds(n)) {
      const id = pickLivenessPrompt(video, seed)!;
      counts.set(id, counts.get(id)! + 1);
    }
    const expected = n / pool.length;
    // Chi-square with 7 degrees of freedom: 24.3 is the 0.1 % critical value.
    const chiSquare = [...counts.values()].reduce((sum, c) => sum + (c - expected) ** 2 / expected, 0);
    expect(chiSquare).toBeLessThan(24.3);
    for (const c of counts.values()) expect(Math.abs(c - expected)).toBeLessThan(expected * 0.15);
  });

  it('is undefined without a pool', () => {
    expect(pickLivenessPrompt(call, 'session-1')).toBeUndefined();
    expect(pickLivenessPrompt({ livenessPool: [] }, 'session-1')).toBeUndefined();
  });

  it('varies with the seed: a hundred sessions see every prompt', () => {
    expect(new Set(seeds(100).map((s) => pickLivenessPrompt(video, s))).size).toBe(video.livenessPool!.length);
  });
});
