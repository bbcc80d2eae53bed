// A seeded random source, so a failing run can be replayed: RELIABILITY_SEED=<printed seed>.
export interface Rng {
  seed: number;
  next(): number;
  between(min: number, max: number): number;
  pick<T>(items: readonly T[]): T;
}

export function seededRng(label: string): Rng {
  const fromEnv = Number(process.env.RELIABILITY_SEED);
  const seed = Number.isInteger(fromEnv) && fromEnv > 0 ? fromEnv : Math.floor(Math.random() * 2 ** 31) + 1;
  console.log(`[reliability] ${label}: seed ${seed} (replay with RELIABILITY_SEED=${seed})`);
  // mulberry32
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    seed,
    next,
    between: (min, max) => min + next() * (max - min),
    pick: (items) => items[Math.floor(next() * items.length)]!,
  };
}
