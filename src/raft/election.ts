/**
 * Roles and elections: PreVote, votes, CheckQuorum, the leader lease that makes a follower with a
 * live leader ignore (pre)votes, and the leader's first noop.
 */
import { lastIndex, lastTerm } from "./log.ts"
import { appendToLog } from "./log-ops.ts"
import type { PreVoteRequest, VoteRequest } from "./messages.ts"
import { makeProgress } from "./progress.ts"
import { failPendingReads } from "./read-index.ts"
import { bcastAppend } from "./replication.ts"
import { isVoter, passiveRole, quorumOf, type RaftState } from "./state.ts"
import { resetElectionTimer } from "./timers.ts"

const EMPTY_DATA = new Uint8Array(0)

export const becomeFollower = (s: RaftState, term: number, leader: string | null): void => {
  if (s.role === "leader") failPendingReads(s, leader)
  if (term !== s.term) {
    s.term = term
    s.vote = null
  }
  s.role = passiveRole(s)
  s.leader = leader
  s.votes.clear()
  s.progress.clear()
  s.transferee = null
  s.heartbeatElapsed = 0
  resetElectionTimer(s)
}

/**
 * Starts an election.
 * - "timeout": with PreVote it first asks whether it could win, without bumping its term, so a
 *   node rejoining from a partition never disturbs a healthy majority.
 * - "afterPreVote": the real election once a quorum granted pre-votes (leases still respected).
 * - "force" (leadership transfer, operator campaign): skips PreVote and overrides voters' leases.
 */
export const campaign = (s: RaftState, kind: "timeout" | "afterPreVote" | "force"): void => {
  if (!isVoter(s) || s.role === "leader") return
  const pre = s.config.preVote && kind === "timeout"
  const force = kind === "force"
  if (pre) {
    s.role = "preCandidate"
  } else {
    s.term += 1
    s.vote = s.id
    s.role = "candidate"
  }
  s.leader = null
  s.votes.clear()
  s.votes.set(s.id, true)
  resetElectionTimer(s)
  if (tally(s) === "won") {
    if (pre) campaign(s, "afterPreVote")
    else becomeLeader(s)
    return
  }
  const term = pre ? s.term + 1 : s.term
  const li = lastIndex(s.log)
  const lt = lastTerm(s.log)
  for (const to of s.voters) {
    if (to === s.id) continue
    if (pre) {
      s.out.messages.push({
        type: "preVote",
        group: s.group,
        from: s.id,
        to,
        term,
        lastIndex: li,
        lastTerm: lt,
      })
    } else {
      s.out.messages.push({
        type: "vote",
        group: s.group,
        from: s.id,
        to,
        term,
        lastIndex: li,
        lastTerm: lt,
        force,
      })
    }
  }
}

/**
 * A pre-candidate asks again, every heartbeat interval, the voters that have not answered: a voter
 * whose leader lease had a tick left when the first request came ignored it (its timer runs on
 * its own clock), and waiting a whole election timeout for that would double the failover time.
 * Harmless: a pre-vote changes no term and a voter still in its lease keeps ignoring it.
 */
export const retryPreVote = (s: RaftState): void => {
  const li = lastIndex(s.log)
  const lt = lastTerm(s.log)
  for (const to of s.voters) {
    if (to === s.id || s.votes.has(to)) continue
    s.out.messages.push({
      type: "preVote",
      group: s.group,
      from: s.id,
      to,
      term: s.term + 1,
      lastIndex: li,
      lastTerm: lt,
    })
  }
}

/** Counts votes among the current voters only: a learner's grant never counts. */
export const tally = (s: RaftState): "won" | "lost" | "pending" => {
  let granted = 0
  let rejected = 0
  for (const [id, g] of s.votes) {
    if (!s.voters.has(id)) continue
    if (g) granted++
    else rejected++
  }
  const q = quorumOf(s.voters.size)
  if (granted >= q) return "won"
  if (rejected >= q) return "lost"
  return "pending"
}

export const becomeLeader = (s: RaftState): void => {
  s.role = "leader"
  s.leader = s.id
  s.votes.clear()
  s.transferee = null
  s.electionElapsed = 0
  s.heartbeatElapsed = 0
  s.progress.clear()
  const next = lastIndex(s.log) + 1
  for (const id of s.voters) if (id !== s.id) s.progress.set(id, makeProgress(id, next))
  for (const id of s.learners) if (id !== s.id) s.progress.set(id, makeProgress(id, next))
  // The noop commits the entries of earlier terms (only current-term entries commit by counting),
  // and no conf change may be proposed before it commits (the one-at-a-time + new leader pitfall).
  appendToLog(s, { index: next, term: s.term, type: "noop", data: EMPTY_DATA })
  s.pendingConfIndex = next
  bcastAppend(s, true)
}

/** Handles a vote or pre-vote request whose term is >= ours (lower terms are answered earlier). */
export const handleVoteRequest = (s: RaftState, m: VoteRequest | PreVoteRequest): void => {
  const pre = m.type === "preVote"
  const canVote = s.vote === m.from || (s.vote === null && s.leader === null) || (pre && m.term > s.term)
  const li = lastIndex(s.log)
  const lt = lastTerm(s.log)
  const upToDate = m.lastTerm > lt || (m.lastTerm === lt && m.lastIndex >= li)
  // Two pre-candidates with equal logs would grant each other, both become candidates, vote for
  // themselves and split the vote (a whole timeout lost). The tie goes to the lower id: only
  // that one collects the other's pre-vote. Liveness only: a pre-vote never decides anything.
  const tieLost = pre && s.role === "preCandidate" && m.lastTerm === lt && m.lastIndex === li && m.from > s.id
  const grant = canVote && upToDate && !tieLost
  if (grant && !pre) {
    s.vote = m.from
    resetElectionTimer(s)
  }
  s.out.messages.push({
    type: pre ? "preVoteResp" : "voteResp",
    group: s.group,
    from: s.id,
    to: m.from,
    // A granted pre-vote echoes the requested term; a rejection tells the candidate our term.
    term: grant ? m.term : s.term,
    reject: !grant,
  })
}

export const handleVoteResponse = (s: RaftState, from: string, reject: boolean): void => {
  s.votes.set(from, !reject)
  const result = tally(s)
  if (result === "won") {
    if (s.role === "preCandidate") campaign(s, "afterPreVote")
    else becomeLeader(s)
  } else if (result === "lost") {
    becomeFollower(s, s.term, null)
  }
}

/** CheckQuorum: a leader that did not hear from a quorum within an election timeout steps down. */
export const quorumActive = (s: RaftState): boolean => {
  let active = 0
  for (const id of s.voters) {
    if (id === s.id) active++
    else if (s.progress.get(id)?.recentActive) active++
  }
  return active >= quorumOf(s.voters.size)
}
