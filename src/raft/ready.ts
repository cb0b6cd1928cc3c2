/** Turns what a step produced (the outbox) into a Ready, and resets the outbox cheaply. */
import type { Ready } from "./api.ts"
import { sliceLog } from "./log.ts"
import type { RaftState } from "./state.ts"

const NONE: readonly never[] = []

export const takeReady = (s: RaftState): Ready => {
  let committedEntries: Ready["committedEntries"] = NONE
  if (s.commit > s.handedOut) {
    committedEntries = sliceLog(s.log, s.handedOut + 1, s.commit, Number.POSITIVE_INFINITY)
    s.handedOut = s.commit
  }
  let hardState: Ready["hardState"] = null
  const h = s.lastHard
  if (h.term !== s.term || h.vote !== s.vote || h.commit !== s.commit) {
    hardState = { term: s.term, vote: s.vote, commit: s.commit }
    s.lastHard = { term: s.term, vote: s.vote, commit: s.commit }
  }
  let softState: Ready["softState"] = null
  const ss = s.lastSoft
  if (ss.role !== s.role || ss.leader !== s.leader || ss.term !== s.term) {
    softState = { role: s.role, leader: s.leader, term: s.term }
    s.lastSoft = softState
  }
  const o = s.out
  const ready: Ready = {
    hardState,
    truncateFrom: o.truncateFrom,
    entries: o.entries.length === 0 ? NONE : o.entries,
    snapshot: o.snapshot,
    compactTo: o.compactTo,
    messages: o.messages.length === 0 ? NONE : o.messages,
    committedEntries,
    readStates: o.readStates.length === 0 ? NONE : o.readStates,
    proposals: o.proposals.length === 0 ? NONE : o.proposals,
    softState,
  }
  if (o.entries.length > 0) o.entries = []
  if (o.messages.length > 0) o.messages = []
  if (o.readStates.length > 0) o.readStates = []
  if (o.proposals.length > 0) o.proposals = []
  o.truncateFrom = null
  o.snapshot = null
  o.compactTo = null
  return ready
}
