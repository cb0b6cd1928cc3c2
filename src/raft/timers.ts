/**
 * Election timer: randomized in [electionTicks, electionTicks + electionJitterTicks) from the PRNG
 * in the state. The lower bound is what keeps a slow leader from being deposed; the width spreads
 * the followers' campaigns apart (a narrower one shortens the worst failover).
 */
import { nextInt } from "./prng.ts"
import type { RaftState } from "./state.ts"

export const resetElectionTimer = (s: RaftState): void => {
  s.electionElapsed = 0
  const [rng, extra] = nextInt(s.rng, s.config.electionJitterTicks)
  s.rng = rng
  s.randomizedElectionTimeout = s.config.electionTicks + extra
}

/** A stable 32-bit hash of the node id, mixed into the seed so replicas given one seed still differ. */
export const hashId = (id: string): number => {
  let h = 0x811c9dc5
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193)
  return h | 0
}
