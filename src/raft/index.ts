/**
 * The pure Raft core. `initRaft` builds a replica's state, `step` advances it by one input and
 * returns the Ready the caller must persist/send/apply (see api.ts for the loop), `status`
 * summarizes it. The state is mutated in place and owned linearly by the caller.
 */
import type { ConfState, Entry } from "../../schemas/raft.ts"
import { entryAt, lastIndex, lastTerm, termAt } from "./log.ts"
import { confAt } from "./log-ops.ts"
import type { RaftState } from "./state.ts"

export type * from "./api.ts"
export { decodeConfChange, encodeConfChange, invalidConfChange } from "./conf.ts"
export { initRaft } from "./init.ts"
export type * from "./messages.ts"
export type { RaftState } from "./state.ts"
export { type PeerStatus, type RaftStatus, status } from "./status.ts"
export { step } from "./step.ts"

/** The membership in force at `index` (use it for a snapshot's `meta.conf`); null if unknown. */
export const confStateAt = (s: RaftState, index: number): ConfState | null => confAt(s, index)

/** The term of a log entry held in memory, or -1. */
export const termOf = (s: RaftState, index: number): number => termAt(s.log, index)

/** A log entry held in memory (for checks and tests). */
export const entryOf = (s: RaftState, index: number): Entry | undefined =>
  index > s.log.floorIndex ? entryAt(s.log, index) : undefined

/** The last log index, cheaply (no status object): e.g. for the `persisted` input after a write. */
export const lastIndexOf = (s: RaftState): number => lastIndex(s.log)

export const lastTermOf = (s: RaftState): number => lastTerm(s.log)
