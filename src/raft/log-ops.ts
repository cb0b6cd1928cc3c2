/**
 * Log mutations that must keep the rest of the state in step: the Ready's entries/truncation,
 * the persisted watermark, and membership (conf entries take effect when appended).
 */
import type { Entry } from "../../schemas/raft.ts"
import { applyConfChange, decodeConfChange } from "./conf.ts"
import { appendEntry, entryAt, lastIndex, truncateFrom } from "./log.ts"
import { makeProgress } from "./progress.ts"
import { passiveRole, type RaftState } from "./state.ts"

export const refreshConfSets = (s: RaftState): void => {
  s.voters = new Set(s.conf.voters)
  s.learners = new Set(s.conf.learners)
  if (s.role === "follower" || s.role === "learner") s.role = passiveRole(s)
  if (s.role === "leader") syncProgress(s)
}

/**
 * A leader tracks the members other than itself, plus removed nodes until their removal commits
 * (so they usually receive the entry that removes them and can tell they are out).
 */
const syncProgress = (s: RaftState): void => {
  const next = lastIndex(s.log) + 1
  for (const id of s.voters)
    if (id !== s.id && !s.progress.has(id)) s.progress.set(id, makeProgress(id, next))
  for (const id of s.learners)
    if (id !== s.id && !s.progress.has(id)) s.progress.set(id, makeProgress(id, next))
  if (s.commit >= lastConfIndex(s)) pruneRemovedProgress(s)
  if (s.transferee !== null && !s.voters.has(s.transferee)) s.transferee = null
}

/** Appends one entry to the log and to this step's Ready; a conf entry takes effect now. */
export const appendToLog = (s: RaftState, entry: Entry): void => {
  appendEntry(s.log, entry)
  s.out.entries.push(entry)
  if (entry.type === "conf") {
    s.confIndexes.push(entry.index)
    s.conf = applyConfChange(s.conf, decodeConfChange(entry))
    refreshConfSets(s)
  }
}

/** Membership rebuilt from the base (snapshot or bootstrap) plus the conf entries still in the log. */
export const rebuildConf = (s: RaftState): void => {
  let conf = s.confBase.conf
  for (const index of s.confIndexes) {
    const entry = entryAt(s.log, index)
    if (entry !== undefined) conf = applyConfChange(conf, decodeConfChange(entry))
  }
  s.conf = conf
  refreshConfSets(s)
}

/** Deletes entries >= from (a follower repairing a conflict). Never called at or below commit. */
export const truncateLog = (s: RaftState, from: number): void => {
  if (from <= s.commit) throw new Error(`raft: truncating committed entry ${from} (commit ${s.commit})`)
  truncateFrom(s.log, from)
  const out = s.out
  if (out.entries.length > 0 && out.entries[out.entries.length - 1]!.index >= from) {
    out.entries = out.entries.filter((e) => e.index < from)
  }
  out.truncateFrom = out.truncateFrom === null ? from : Math.min(out.truncateFrom, from)
  if (s.persistedIndex >= from) s.persistedIndex = from - 1
  const confs = s.confIndexes
  if (confs.length > 0 && confs[confs.length - 1]! >= from) {
    s.confIndexes = confs.filter((i) => i < from)
    rebuildConf(s)
  }
}

/** The index of the latest conf entry in the log, or the base index. */
export const lastConfIndex = (s: RaftState): number =>
  s.confIndexes.length > 0 ? s.confIndexes[s.confIndexes.length - 1]! : s.confBase.index

/** The membership in force right after entry `index`, or null if it is below the base. */
export const confAt = (s: RaftState, index: number) => {
  if (index < s.confBase.index) return null
  let conf = s.confBase.conf
  for (const i of s.confIndexes) {
    if (i > index) break
    const entry = entryAt(s.log, i)
    if (entry !== undefined) conf = applyConfChange(conf, decodeConfChange(entry))
  }
  return conf
}

/** Forgets the progress of nodes that are no longer members (once their removal committed). */
export const pruneRemovedProgress = (s: RaftState): void => {
  for (const id of s.progress.keys()) if (!s.voters.has(id) && !s.learners.has(id)) s.progress.delete(id)
}
