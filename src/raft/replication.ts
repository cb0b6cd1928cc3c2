/**
 * The leader side of log replication: per-follower sending (probe / pipelined replicate /
 * snapshot), handling the answers, and fast backtracking with the follower's conflict hint.
 */
import type { Entry } from "../../schemas/raft.ts"
import { maybeCommit } from "./commit.ts"
import { lastIndex, lastIndexWithTermAtMost, sliceLog, termAt } from "./log.ts"
import type { AppendResponse, HeartbeatResponse } from "./messages.ts"
import {
  becomeReplicate,
  becomeSnapshot,
  freeInflightUpTo,
  isPaused,
  type Progress,
  updateMatch,
} from "./progress.ts"
import { ackReadRound } from "./read-index.ts"
import type { RaftState } from "./state.ts"
import { sendTimeoutNowIfCaughtUp } from "./transfer.ts"

const NO_ENTRIES: readonly Entry[] = []

/**
 * Sends the next append to `pr` if flow control allows. With `sendIfEmpty` an append without
 * entries still goes out (it carries the commit index, or probes the follower's log end).
 * Returns true if a message was sent.
 */
export const sendAppend = (s: RaftState, pr: Progress, sendIfEmpty: boolean): boolean => {
  if (isPaused(pr, s.config.maxInflightAppends)) return false
  const prevIndex = pr.next - 1
  const prevTerm = termAt(s.log, prevIndex)
  if (prevTerm < 0) return sendSnapshot(s, pr)
  const last = lastIndex(s.log)
  const entries = pr.next <= last ? sliceLog(s.log, pr.next, last, s.config.maxEntriesPerAppend) : NO_ENTRIES
  if (entries.length === 0 && !sendIfEmpty) return false
  s.out.messages.push({
    type: "append",
    group: s.group,
    from: s.id,
    to: pr.id,
    term: s.term,
    prevIndex,
    prevTerm,
    entries,
    commit: s.commit,
  })
  if (pr.state === "replicate") {
    if (entries.length > 0) {
      const sentTo = entries[entries.length - 1]!.index
      pr.next = sentTo + 1
      pr.inflight.push(sentTo)
    }
  } else {
    pr.probeSent = true
  }
  return true
}

const sendSnapshot = (s: RaftState, pr: Progress): boolean => {
  const snapshot = s.snapshot
  if (snapshot === null) return false
  becomeSnapshot(pr, snapshot.meta.index)
  s.out.messages.push({ type: "snapshot", group: s.group, from: s.id, to: pr.id, term: s.term, snapshot })
  return true
}

export const bcastAppend = (s: RaftState, sendIfEmpty: boolean): void => {
  for (const pr of s.progress.values()) sendAppend(s, pr, sendIfEmpty)
}

export const bcastHeartbeat = (s: RaftState, context: number): void => {
  for (const pr of s.progress.values()) {
    s.out.messages.push({
      type: "heartbeat",
      group: s.group,
      from: s.id,
      to: pr.id,
      term: s.term,
      // Never tell a follower to commit past what it is known to match.
      commit: Math.min(pr.match, s.commit),
      context,
    })
  }
}

export const handleAppendResponse = (s: RaftState, m: AppendResponse): void => {
  const pr = s.progress.get(m.from)
  if (pr === undefined) return
  pr.recentActive = true
  if (m.reject) {
    backtrack(s, pr, m)
    return
  }
  const updated = updateMatch(pr, m.index)
  if (pr.state === "probe") becomeReplicate(pr)
  else if (pr.state === "snapshot" && pr.match >= pr.pendingSnapshot) becomeReplicate(pr)
  else if (pr.state === "replicate") freeInflightUpTo(pr, m.index)
  if (updated && maybeCommit(s)) {
    if (s.role === "leader") bcastAppend(s, true)
  } else {
    while (sendAppend(s, pr, false)) {}
  }
  if (s.role === "leader" && m.from === s.transferee) sendTimeoutNowIfCaughtUp(s, pr)
}

/** Fast backtracking: jump `next` using the follower's conflict hint instead of one step at a time. */
const backtrack = (s: RaftState, pr: Progress, m: AppendResponse): void => {
  const rejected = m.index
  if (pr.state === "replicate" ? rejected <= pr.match : rejected !== pr.next - 1) return // stale answer
  if (pr.state === "snapshot") return
  let next = m.hintIndex
  if (m.hintTerm > 0) {
    const j = lastIndexWithTermAtMost(s.log, rejected, m.hintTerm)
    if (termAt(s.log, j) === m.hintTerm) next = j + 1
  }
  next = Math.max(pr.match + 1, Math.min(next, rejected))
  pr.state = "probe"
  pr.inflight.length = 0
  pr.probeSent = false
  pr.next = next
  sendAppend(s, pr, true)
}

export const handleHeartbeatResponse = (s: RaftState, m: HeartbeatResponse): void => {
  const pr = s.progress.get(m.from)
  if (pr === undefined) return
  pr.recentActive = true
  pr.probeSent = false
  // A full pipeline may be waiting on lost appends: free a slot so the gap gets probed.
  if (pr.state === "replicate" && pr.inflight.length >= s.config.maxInflightAppends) pr.inflight.shift()
  if (pr.match < lastIndex(s.log)) sendAppend(s, pr, true)
  if (m.context > 0) ackReadRound(s, m.from, m.context)
}
