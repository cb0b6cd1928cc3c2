/** Turns what a step produced (the outbox) into a Ready, and resets the outbox cheaply. */
import type { Ready } from "./api.ts"
import { sliceLog } from "./log.ts"
import type { RaftState } from "./state.ts"

const NONE: readonly never[] = []

/** Returned when a step produced nothing: most `persisted`/`applied`/tick steps. Shared, never mutated. */
const EMPTY_READY: Ready = Object.freeze({
  hardState: null,
  truncateFrom: null,
  entries: NONE,
  snapshot: null,
  compactTo: null,
  messages: NONE,
  committedEntries: NONE,
  readStates: NONE,
  proposals: NONE,
  softState: null,
})

export const takeReady = (s: RaftState): Ready => {
  const o = s.out
  const h = s.lastHard
  const ss = s.lastSoft
  const hardChanged = h.term !== s.term || h.vote !== s.vote || h.commit !== s.commit
  const softChanged = ss.role !== s.role || ss.leader !== s.leader || ss.term !== s.term
  if (
    !hardChanged &&
    !softChanged &&
    s.commit <= s.handedOut &&
    o.messages.length === 0 &&
    o.entries.length === 0 &&
    o.readStates.length === 0 &&
    o.proposals.length === 0 &&
    o.truncateFrom === null &&
    o.snapshot === null &&
    o.compactTo === null &&
    o.logLost === null
  ) {
    return EMPTY_READY
  }
  let committedEntries: Ready["committedEntries"] = NONE
  if (s.commit > s.handedOut) {
    committedEntries = sliceLog(s.log, s.handedOut + 1, s.commit, Number.POSITIVE_INFINITY)
    s.handedOut = s.commit
  }
  let hardState: Ready["hardState"] = null
  if (hardChanged) {
    hardState = { term: s.term, vote: s.vote, commit: s.commit }
    s.lastHard = hardState
  }
  let softState: Ready["softState"] = null
  if (softChanged) {
    softState = { role: s.role, leader: s.leader, term: s.term }
    s.lastSoft = softState
  }
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
    ...(o.logLost === null ? {} : { logLost: o.logLost }),
  }
  o.logLost = null
  if (o.entries.length > 0) o.entries = []
  if (o.messages.length > 0) o.messages = []
  if (o.readStates.length > 0) o.readStates = []
  if (o.proposals.length > 0) o.proposals = []
  o.truncateFrom = null
  o.snapshot = null
  o.compactTo = null
  return ready
}
