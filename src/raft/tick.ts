/** The logical clock: election timeouts for followers/candidates, heartbeats and checks for leaders. */
import { becomeFollower, campaign, quorumActive, retryPreVote } from "./election.ts"
import { readRoundContext } from "./read-index.ts"
import { bcastHeartbeat } from "./replication.ts"
import { isVoter, type RaftState } from "./state.ts"
import { abortTransfer } from "./transfer.ts"

export const tick = (s: RaftState): void => {
  if (s.role === "leader") tickLeader(s)
  else tickElection(s)
}

const tickElection = (s: RaftState): void => {
  s.electionElapsed++
  if (isVoter(s) && s.electionElapsed >= s.randomizedElectionTimeout) campaign(s, "timeout")
  else if (s.role === "preCandidate" && s.electionElapsed % s.config.heartbeatTicks === 0) retryPreVote(s)
}

const tickLeader = (s: RaftState): void => {
  s.heartbeatElapsed++
  s.electionElapsed++
  const cfg = s.config
  if (s.electionElapsed >= cfg.electionTicks) {
    s.electionElapsed = 0
    if (cfg.checkQuorum && !quorumActive(s)) {
      becomeFollower(s, s.term, null)
      return
    }
    for (const pr of s.progress.values()) pr.recentActive = false
  }
  if (s.transferee !== null && ++s.transferElapsed >= cfg.transferTimeoutTicks) abortTransfer(s)
  for (const pr of s.progress.values()) {
    // An InstallSnapshot that got no answer for an election timeout is retried via probing.
    if (pr.state === "snapshot" && ++pr.snapshotTicks >= cfg.electionTicks) {
      pr.state = "probe"
      pr.probeSent = false
      pr.next = pr.match + 1
      pr.pendingSnapshot = 0
    }
  }
  if (s.heartbeatElapsed >= cfg.heartbeatTicks) {
    s.heartbeatElapsed = 0
    bcastHeartbeat(s, readRoundContext(s))
  }
}
