/**
 * The in-memory Raft log: every entry from the floor (the compaction point) to the last index.
 * `floorIndex`/`floorTerm` describe the entry just below the first one held (the snapshot point,
 * or a little below it when entries are kept for slow followers). Mutated in place: the log is
 * never copied per step.
 */
import type { Entry } from "../../schemas/raft.ts"

export interface RaftLog {
  /** Entries floorIndex+1 .. lastIndex, in order. */
  entries: Entry[]
  floorIndex: number
  floorTerm: number
}

export const makeLog = (floorIndex: number, floorTerm: number, entries: readonly Entry[]): RaftLog => ({
  entries: entries.slice(),
  floorIndex,
  floorTerm,
})

export const lastIndex = (log: RaftLog): number => log.floorIndex + log.entries.length

export const lastTerm = (log: RaftLog): number =>
  log.entries.length === 0 ? log.floorTerm : log.entries[log.entries.length - 1]!.term

/** The term of entry `index`, or -1 when it is below the floor or past the end. */
export const termAt = (log: RaftLog, index: number): number => {
  if (index === log.floorIndex) return log.floorTerm
  if (index < log.floorIndex || index > log.floorIndex + log.entries.length) return -1
  return log.entries[index - log.floorIndex - 1]!.term
}

export const entryAt = (log: RaftLog, index: number): Entry | undefined =>
  log.entries[index - log.floorIndex - 1]

/** Entries [from, to] inclusive, clamped to what is held; at most `max` of them. */
export const sliceLog = (log: RaftLog, from: number, to: number, max: number): Entry[] => {
  const lo = Math.max(from, log.floorIndex + 1)
  const hi = Math.min(to, lastIndex(log), lo + max - 1)
  if (hi < lo) return []
  return log.entries.slice(lo - log.floorIndex - 1, hi - log.floorIndex)
}

export const appendEntry = (log: RaftLog, entry: Entry): void => {
  log.entries.push(entry)
}

/** Drops every entry with index >= from. */
export const truncateFrom = (log: RaftLog, from: number): void => {
  const keep = Math.max(0, from - log.floorIndex - 1)
  if (keep < log.entries.length) log.entries.length = keep
}

/** Drops every entry with index <= to (to must be held); the floor moves up to `to`. */
export const compactTo = (log: RaftLog, to: number): void => {
  if (to <= log.floorIndex) return
  const term = termAt(log, to)
  if (term < 0) return
  log.entries.splice(0, to - log.floorIndex)
  log.floorIndex = to
  log.floorTerm = term
}

/** Replaces the whole log with an empty one whose floor is the snapshot point. */
export const resetLog = (log: RaftLog, index: number, term: number): void => {
  log.entries = []
  log.floorIndex = index
  log.floorTerm = term
}

/** The first index of the run of entries that share the term of `index`, not going below `lowest`. */
export const firstIndexOfTerm = (log: RaftLog, index: number, lowest: number): number => {
  const term = termAt(log, index)
  let i = index
  while (i - 1 > lowest && i - 1 > log.floorIndex && termAt(log, i - 1) === term) i--
  return i
}

/** The largest index <= from whose term is <= term (used by the leader to interpret a hint). */
export const lastIndexWithTermAtMost = (log: RaftLog, from: number, term: number): number => {
  let i = Math.min(from, lastIndex(log))
  while (i > log.floorIndex && termAt(log, i) > term) i--
  return i
}
