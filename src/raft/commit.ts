/**
 * The commit rule: the quorum match over the current voters, only for an entry of the leader's
 * own term, counting the leader's own log only once durable (the `persisted` input).
 */
import { becomeFollower } from "./election.ts"
import { lastIndex, termAt } from "./log.ts"
import { lastConfIndex, pruneRemovedProgress } from "./log-ops.ts"
import type { Progress } from "./progress.ts"
import { maybeStartReadRound } from "./read-index.ts"
import { bcastAppend } from "./replication.ts"
import { quorumOf, type RaftState } from "./state.ts"

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
  if (s.commit >= lastConfIndex(s)) pruneRemovedProgress(s)
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
