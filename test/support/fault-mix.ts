import type { Fault } from './purpleflea-sandbox';

/** A small seeded generator (mulberry32), so that a failing run can be replayed. */
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

/**
 * The end-to-end runs' faults, one per request in order: 5% 429s, 1% "committed but the answer was
 * lost", 1% connection resets before commit; the rest answer normally (a zero delay).
 */
export function faultMix(random: () => number, count: number): Fault[] {
  return Array.from({ length: count }, (): Fault => {
    const draw = random();
    if (draw < 0.05) return { kind: 'status', status: 429 };
    if (draw < 0.06) return { kind: 'reset-after-commit' };
    if (draw < 0.07) return { kind: 'reset-before-commit' };
    return { kind: 'delay', ms: 0 };
  });
}
