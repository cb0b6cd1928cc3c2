/** A small seeded PRNG (splitmix32) for fault injection and reconnect jitter: never Math.random. */
export interface Prng {
  /** Uniform in [0, 1). */
  readonly next: () => number
}

export const makePrng = (seed: number): Prng => {
  let state = seed >>> 0
  return {
    next: () => {
      state = (state + 0x9e3779b9) >>> 0
      let z = state
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0
      z = (z ^ (z >>> 16)) >>> 0
      return z / 0x1_0000_0000
    },
  }
}

/** A stable 32-bit seed from a string (FNV-1a), so each node's jitter differs but is reproducible. */
export const seedFromString = (value: string): number => {
  let hash = 0x811c9dc5
  for (let i = 0; i < value.length; i++) hash = Math.imul(hash ^ value.charCodeAt(i), 0x01000193) >>> 0
  return hash
}
