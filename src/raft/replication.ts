/**
 * Log replication: the leader's per-follower sending (probe / pipelined replicate / snapshot),
 * the follower's append handling with conflict hints, fast backtracking, and the commit rule.
 */
import type { Entry } from "../../schemas/raft.ts"
import { becomeFollower } from "./election.ts"
import { firstIndexOfTerm, lastIndex, lastIndexWithTermAtMost, sliceLog, termAt } from "./log.ts"
import { appendToLog, lastConfIndex, truncateLog } from "./log-ops.ts"
import type { AppendRequest, AppendResponse, HeartbeatRequest, HeartbeatResponse } from "./messages.ts"
import {
  becomeReplicate,
  becomeSnapshot,
  freeInflightUpTo,
  isPaused,
  type Progress,
  updateMatch,
} from "./progress.ts"
import { ackReadRound, maybeStartReadRound, readRoundContext } from "./read-index.ts"
import { quorumOf, type RaftState } from "./state.ts"
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

/** The leader's own match: only what is durable (persist-before-ack), unless the bug is injected. */
const selfMatch = (s: RaftState): number =>
  s.config.injectBug === "sendBeforePersist" ? lastIndex(s.log) : s.persistedIndex

let matchScratch: number[] = []

/** Advances commit to the quorum match, only for an entry of the current term. */
export const maybeCommit = (s: RaftState): boolean => {
  const matches = matchScratch
  matches.length = 0
  for (const id of s.voters) matches.push(id === s.id ? selfMatch(s) : (s.progress.get(id)?.match ?? 0))
  if (matches.length === 0) return false
  matches.sort((a, b) => b - a)
  const q = matches[quorumOf(matches.length) - 1]!
  matchScratch = matches
  if (q <= s.commit) return false
  if (termAt(s.log, q) !== s.term && s.config.injectBug !== "commitPreviousTerm") return false
  s.commit = q
  onLeaderCommit(s)
  return true
}

const onLeaderCommit = (s: RaftState): void => {
  maybeStartReadRound(s)
  // A leader removed from the voters keeps leading until that change commits, then steps down.
  if (!s.voters.has(s.id) && s.commit >= lastConfIndex(s)) {
    handOverBeforeLeaving(s)
    becomeFollower(s, s.term, null)
  }
}

/** Lets the most caught-up voter campaign at once instead of waiting for an election timeout. */
const handOverBeforeLeaving = (s: RaftState): void => {
  let best: Progress | null = null
  for (const id of s.voters) {
    const pr = s.progress.get(id)
    if (pr !== undefined && (best === null || pr.match > best.match)) best = pr
  }
  if (best !== null && best.match === lastIndex(s.log)) {
    s.out.messages.push({ type: "timeoutNow", group: s.group, from: s.id, to: best.id, term: s.term })
  }
}

/** Leader: after the local log became durable further (the `persisted` input). */
export const leaderPersisted = (s: RaftState): void => {
  if (maybeCommit(s)) bcastAppend(s, true)
}

// ---- follower side ----

export const handleAppend = (s: RaftState, m: AppendRequest): void => {
  const log = s.log
  const last = lastIndex(log)
  // Entries at or below our commit are known to match the leader's (and may be compacted away).
  if (m.prevIndex >= s.commit && termAt(log, m.prevIndex) !== m.prevTerm) {
    let hintIndex: number
    let hintTerm: number
    if (m.prevIndex > last) {
      hintIndex = last + 1
      hintTerm = 0
    } else {
      hintTerm = termAt(log, m.prevIndex)
      hintIndex = firstIndexOfTerm(log, m.prevIndex, s.commit)
    }
    s.out.messages.push(appendResponse(s, m.from, true, m.prevIndex, hintIndex, hintTerm))
    return
  }
  const entries = m.entries
  let i = 0
  while (i < entries.length && entries[i]!.index <= s.commit) i++
  for (; i < entries.length; i++) {
    const e = entries[i]!
    const t = termAt(log, e.index)
    if (t === e.term) continue
    if (t >= 0) truncateLog(s, e.index)
    for (; i < entries.length; i++) appendToLog(s, entries[i]!)
    break
  }
  const lastNew = m.prevIndex + entries.length
  if (m.commit > s.commit) {
    const c = Math.min(m.commit, lastNew)
    if (c > s.commit) s.commit = c
  }
  s.out.messages.push(appendResponse(s, m.from, false, Math.max(lastNew, s.commit), 0, 0))
}

export const appendResponse = (
  s: RaftState,
  to: string,
  reject: boolean,
  index: number,
  hintIndex: number,
  hintTerm: number,
): AppendResponse => ({
  type: "appendResp",
  group: s.group,
  from: s.id,
  to,
  term: s.term,
  reject,
  index,
  hintIndex,
  hintTerm,
})

export const handleHeartbeat = (s: RaftState, m: HeartbeatRequest): void => {
  if (m.commit > s.commit) s.commit = Math.min(m.commit, lastIndex(s.log))
  s.out.messages.push({
    type: "heartbeatResp",
    group: s.group,
    from: s.id,
    to: m.from,
    term: s.term,
    context: m.context,
  })
}

// ---- leader side ----

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

export { readRoundContext }
