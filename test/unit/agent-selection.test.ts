import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { eligibleAgents, selectAgent, type AgentCandidate, type Presence } from '../../server/verification/agent-selection.js';

const agent = (userId: string, overrides: Partial<AgentCandidate> = {}): AgentCandidate => ({
  userId,
  languages: ['zh-CN'],
  skills: ['consumer-loan'],
  presence: 'available',
  activeSessions: 0,
  ...overrides,
});

const ZH_CONSUMER = { language: 'zh-CN', productSkill: 'consumer-loan' };
const none = new Set<string>();
const ids = (agents: AgentCandidate[]): string[] => agents.map((a) => a.userId);

describe('eligibleAgents', () => {
  it.each<[string, AgentCandidate, { language: string; productSkill: string }, boolean]>([
    ['available, same language and skill', agent('a'), ZH_CONSUMER, true],
    ['busy', agent('a', { presence: 'busy' }), ZH_CONSUMER, false],
    ['away', agent('a', { presence: 'away' }), ZH_CONSUMER, false],
    ['without the product skill', agent('a', { skills: ['mortgage'] }), ZH_CONSUMER, false],
    ['with the product skill among others', agent('a', { skills: ['mortgage', 'consumer-loan'] }), ZH_CONSUMER, true],
    ['with no languages', agent('a', { languages: [] }), ZH_CONSUMER, false],
    ["'zh' serves a 'zh-CN' party", agent('a', { languages: ['zh'] }), ZH_CONSUMER, true],
    ["'zh-TW' does not serve a 'zh-CN' party", agent('a', { languages: ['zh-TW'] }), ZH_CONSUMER, false],
    ["'en' serves an 'en-US' party", agent('a', { languages: ['en'] }), { language: 'en-US', productSkill: 'consumer-loan' }, true],
    ["'en' serves an 'en' party", agent('a', { languages: ['en'] }), { language: 'en', productSkill: 'consumer-loan' }, true],
    ["'en-US' serves a party recorded only as 'en'", agent('a', { languages: ['en-US'] }), { language: 'en', productSkill: 'consumer-loan' }, true],
    ["'en-GB' does not serve an 'en-US' party", agent('a', { languages: ['en-GB'] }), { language: 'en-US', productSkill: 'consumer-loan' }, false],
    ["'en' does not serve a 'zh-CN' party", agent('a', { languages: ['en'] }), ZH_CONSUMER, false],
    ['language tags compare without case', agent('a', { languages: ['ZH-cn'] }), ZH_CONSUMER, true],
    ["a bilingual agent's second language counts", agent('a', { languages: ['en', 'zh-CN'] }), ZH_CONSUMER, true],
    ["'zhx' is not a form of 'zh'", agent('a', { languages: ['zhx'] }), ZH_CONSUMER, false],
  ])('%s -> %s', (_case, candidate, need, eligible) => {
    expect(ids(eligibleAgents([candidate], need, none))).toEqual(eligible ? ['a'] : []);
  });

  it('leaves out agents who declined or let the offer time out, keeping the order of the rest', () => {
    const candidates = [agent('a'), agent('b'), agent('c'), agent('d', { presence: 'away' })];
    expect(ids(eligibleAgents(candidates, ZH_CONSUMER, new Set(['b'])))).toEqual(['a', 'c']);
  });
});

describe('selectAgent', () => {
  const candidates = [
    agent('busy-one', { activeSessions: 2 }),
    agent('idle-1', { activeSessions: 0 }),
    agent('away-idle', { activeSessions: 0, presence: 'away' }),
    agent('idle-2', { activeSessions: 0 }),
    agent('english', { activeSessions: 0, languages: ['en'] }),
  ];

  it.each<[string, ReadonlySet<string>, number, string | undefined]>([
    ['lowest random picks the first least-busy agent', none, 0, 'idle-1'],
    ['highest random picks the last least-busy agent', none, 0.999_999, 'idle-2'],
    ['a random just below one half stays on the first', none, 0.499, 'idle-1'],
    ['a random of one half moves to the second', none, 0.5, 'idle-2'],
    ['an excluded least-busy agent is skipped', new Set(['idle-1']), 0, 'idle-2'],
    ['with every idle agent excluded the busier one is chosen', new Set(['idle-1', 'idle-2']), 0.7, 'busy-one'],
    ['nobody eligible', new Set(['idle-1', 'idle-2', 'busy-one']), 0, undefined],
  ])('%s', (_case, exclude, random, expected) => {
    expect(selectAgent(candidates, ZH_CONSUMER, exclude, () => random)).toBe(expected);
  });

  it('returns undefined for an empty pool without calling random', () => {
    expect(selectAgent([], ZH_CONSUMER, none, () => { throw new Error('random called'); })).toBeUndefined();
  });
});

// ---- properties -------------------------------------------------------------------------------------

const LANGUAGES = ['zh-CN', 'zh', 'zh-TW', 'en', 'en-US'];
const SKILLS = ['consumer-loan', 'mortgage'];

const candidatesArb = fc.uniqueArray(
  fc.record({
    userId: fc.stringMatching(/^u[0-9]{1,3}$/),
    languages: fc.subarray(LANGUAGES, { minLength: 1 }),
    skills: fc.subarray(SKILLS),
    presence: fc.constantFrom<Presence>('available', 'busy', 'away'),
    activeSessions: fc.integer({ min: 0, max: 3 }),
  }),
  { selector: (candidate) => candidate.userId, maxLength: 12 },
);
const needArb = fc.record({ language: fc.constantFrom('zh-CN', 'en-US'), productSkill: fc.constantFrom(...SKILLS) });
const excludeArb = (candidates: AgentCandidate[]) => fc.subarray(candidates.map((c) => c.userId)).map((list) => new Set(list));

describe('selectAgent properties', () => {
  it('always picks an eligible agent with the fewest active sessions, or nobody when none is eligible', () => {
    fc.assert(
      fc.property(
        candidatesArb.chain((candidates) => fc.tuple(fc.constant(candidates), needArb, excludeArb(candidates), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }))),
        ([candidates, need, exclude, random]) => {
          const eligible = eligibleAgents(candidates, need, exclude);
          const chosen = selectAgent(candidates, need, exclude, () => random);
          if (eligible.length === 0) return chosen === undefined;
          const fewest = Math.min(...eligible.map((c) => c.activeSessions));
          const pick = eligible.find((c) => c.userId === chosen);
          return pick !== undefined && pick.activeSessions === fewest && pick.presence === 'available' && !exclude.has(pick.userId);
        },
      ),
    );
  });

  it('gives every least-busy agent a turn over many draws', () => {
    fc.assert(
      fc.property(
        candidatesArb.chain((candidates) => fc.tuple(fc.constant(candidates), needArb, fc.integer())),
        ([candidates, need, seed]) => {
          const eligible = eligibleAgents(candidates, need, none);
          const fewest = Math.min(...eligible.map((c) => c.activeSessions));
          const leastBusy = eligible.filter((c) => c.activeSessions === fewest).map((c) => c.userId);
          const random = seededRandom(seed);
          const chosen = new Set<string | undefined>();
          for (let draw = 0; draw < 400; draw++) chosen.add(selectAgent(candidates, need, none, random));
          expect([...chosen].sort()).toEqual(leastBusy.length > 0 ? [...leastBusy].sort() : [undefined]);
        },
      ),
    );
  });
});

/** mulberry32: a small deterministic generator, so that a failing seed can be replayed. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
