/**
 * The tests' seeded randomness: the same draws on every run for the same seed. mulberry32, computed in 32-bit
 * integers (a linear congruential step multiplied in doubles loses its low bits past 2^53, and drawing with `% n`
 * from them drew mostly 0).
 */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Whole numbers below `n`, drawn from seededRandom(seed). */
export function seededDraws(seed: number): (n: number) => number {
  const random = seededRandom(seed);
  return (n) => Math.floor(random() * n);
}
