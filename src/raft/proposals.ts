/** Client proposals and membership changes, accepted only by a leader that is not transferring. */
import type { ConfChange } from "../../schemas/raft.ts"
import { maybeCommit } from "./commit.ts"
import { encodeConfChange, invalidConfChange } from "./conf.ts"
import { lastIndex, termAt } from "./log.ts"
import { appendToLog } from "./log-ops.ts"
import { bcastAppend } from "./replication.ts"
import type { RaftState } from "./state.ts"

export interface ProposalInput {
  readonly id: number
  readonly data: Uint8Array
}

/** Appends a batch of client commands; one broadcast for the whole batch. */
export const propose = (s: RaftState, proposals: readonly ProposalInput[]): void => {
  if (s.role !== "leader" || s.transferee !== null) {
    const reason = s.role !== "leader" ? "notLeader" : "transferring"
    for (const p of proposals) s.out.proposals.push({ id: p.id, kind: "rejected", reason, leader: s.leader })
    return
  }
  for (const p of proposals) {
    const index = lastIndex(s.log) + 1
    appendToLog(s, { index, term: s.term, type: "normal", data: p.data })
    s.out.proposals.push({ id: p.id, kind: "appended", index, term: s.term })
  }
  afterLeaderAppend(s)
}

const afterLeaderAppend = (s: RaftState): void => {
  // Normally the leader counts its own entries only after `persisted`; the injected bug does not.
  if (s.config.injectBug === "sendBeforePersist" && maybeCommit(s)) bcastAppend(s, true)
  else bcastAppend(s, false)
}

/**
 * One-at-a-time membership change. At most one conf entry may be uncommitted, and none before the
 * leader has committed an entry of its own term (see docs/raft.md).
 */
export const proposeConfChange = (s: RaftState, id: number, change: ConfChange): void => {
  const reject = (reason: "notLeader" | "transferring" | "confChangeInProgress" | "notVoter") =>
    s.out.proposals.push({ id, kind: "rejected", reason, leader: s.leader })
  if (s.role !== "leader") return void reject("notLeader")
  if (s.transferee !== null) return void reject("transferring")
  if (s.pendingConfIndex > s.commit || termAt(s.log, s.commit) !== s.term) {
    return void reject("confChangeInProgress")
  }
  if (invalidConfChange(s.conf, change) !== null) return void reject("notVoter")
  const index = lastIndex(s.log) + 1
  appendToLog(s, { index, term: s.term, type: "conf", data: encodeConfChange(change) })
  s.pendingConfIndex = index
  s.out.proposals.push({ id, kind: "appended", index, term: s.term })
  if (s.role !== "leader") return
  // The new membership may change the quorum (e.g. a slow voter removed): re-evaluate commit.
  if (maybeCommit(s)) bcastAppend(s, true)
  else afterLeaderAppend(s)
}
