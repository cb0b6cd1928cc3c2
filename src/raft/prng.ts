/**
 * A tiny seeded PRNG (mulberry32) whose whole state is one 32-bit number, so it can live inside
 * the Raft state and make election timeouts deterministic for a given seed.
 */

/** Advances the generator. Returns the next state and a uniform integer in [0, bound). */
export const nextInt = (seed: number, bound: number): readonly [number, number] => {
  const next = (seed + 0x6d2b79f5) | 0
  let t = next
  t = Math.imul(t ^ (t >>> 15), t | 1)
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
  const u = ((t ^ (t >>> 14)) >>> 0) / 4294967296
  return [next, Math.floor(u * bound)]
}
