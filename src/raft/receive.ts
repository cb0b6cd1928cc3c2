/**
 * A received message: group/addressee filter, the term rules (with PreVote and the leader lease),
 * then dispatch by type.
 */
import { becomeFollower, campaign, handleVoteRequest, handleVoteResponse } from "./election.ts"
import { appendResponse, handleAppend, handleHeartbeat } from "./follower.ts"
import type { Message } from "./messages.ts"
import { handleReadIndexRequest, handleReadIndexResponse } from "./read-index.ts"
import { handleAppendResponse, handleHeartbeatResponse } from "./replication.ts"
import { handleSnapshot } from "./snapshot.ts"
import { isVoter, type RaftState } from "./state.ts"

const fromLeader = (m: Message): boolean =>
  m.type === "append" || m.type === "heartbeat" || m.type === "snapshot"

export const receive = (s: RaftState, m: Message): void => {
  if (m.group !== s.group || m.to !== s.id) {
    s.foreignMessages++
    return
  }
  // A read answer is valid whatever our term now is: the round was confirmed after the request.
  if (m.type === "readIndexResp") {
    handleReadIndexResponse(s, m)
    return
  }
  if (m.term > s.term) {
    if (m.type === "vote" || m.type === "preVote") {
      // Leader lease: having heard from a live leader within an election timeout, ignore
      // campaigns unless they come from a leadership transfer / forced election.
      const inLease = s.config.checkQuorum && s.leader !== null && s.electionElapsed < s.config.electionTicks
      if (inLease && !(m.type === "vote" && m.force)) return
    }
    if (m.type === "preVote" || (m.type === "preVoteResp" && !m.reject)) {
      // A pre-vote never changes terms.
    } else {
      becomeFollower(s, m.term, fromLeader(m) ? m.from : null)
    }
  } else if (m.term < s.term) {
    if ((s.config.checkQuorum || s.config.preVote) && (m.type === "append" || m.type === "heartbeat")) {
      // Tell a stale leader (e.g. one cut off while we moved on) about our term so it steps down.
      s.out.messages.push(appendResponse(s, m.from, true, 0, 0, 0))
    } else if (m.type === "preVote") {
      s.out.messages.push({
        type: "preVoteResp",
        group: s.group,
        from: s.id,
        to: m.from,
        term: s.term,
        reject: true,
      })
    } else if (m.type === "readIndex") {
      handleReadIndexRequest(s, m)
    }
    return
  }
  if (s.role === "leader") {
    const pr = s.progress.get(m.from)
    if (pr !== undefined) pr.recentActive = true
  }
  switch (m.type) {
    case "preVote":
    case "vote":
      handleVoteRequest(s, m)
      return
    case "preVoteResp":
      if (s.role === "preCandidate" && (m.term === s.term + 1 || m.reject))
        handleVoteResponse(s, m.from, m.reject)
      return
    case "voteResp":
      if (s.role === "candidate" && m.term === s.term) handleVoteResponse(s, m.from, m.reject)
      return
    case "append":
    case "heartbeat":
    case "snapshot":
      if (s.role === "leader") return // cannot happen: one leader per term
      if (s.role === "candidate" || s.role === "preCandidate" || s.leader !== m.from) {
        becomeFollower(s, m.term, m.from)
      }
      s.electionElapsed = 0
      if (m.type === "append") handleAppend(s, m)
      else if (m.type === "heartbeat") handleHeartbeat(s, m)
      else handleSnapshot(s, m)
      return
    case "appendResp":
      if (s.role === "leader") handleAppendResponse(s, m)
      return
    case "heartbeatResp":
      if (s.role === "leader") handleHeartbeatResponse(s, m)
      return
    case "timeoutNow":
      if (s.role !== "leader" && isVoter(s)) campaign(s, "force")
      return
    case "readIndex":
      handleReadIndexRequest(s, m)
      return
  }
}
