/**
 * ReadIndex: linearizable reads without a log entry. Reads that arrive while a round is in flight
 * are batched into the next round; each round has a unique context (a counter) carried by the
 * heartbeats, and is released when a quorum of voters echoes it. A leader only starts rounds after
 * it has committed an entry of its own term (before that its commit index may be stale).
 */
import type { NodeId } from "../../schemas/raft.ts"
import { termAt } from "./log.ts"
import type { ReadIndexRequest, ReadIndexResponse } from "./messages.ts"
import { bcastHeartbeat } from "./replication.ts"
import { type PendingRead, quorumOf, type RaftState, type ReadRound } from "./state.ts"

/** A `readIndex` input on this node. */
export const readIndex = (s: RaftState, id: number): void => {
  if (s.role === "leader") {
    s.readQueue.push({ id, from: s.id })
    maybeStartReadRound(s)
  } else if (s.leader !== null) {
    s.out.messages.push({
      type: "readIndex",
      group: s.group,
      from: s.id,
      to: s.leader,
      term: s.term,
      ids: [id],
    })
  } else {
    // Never guess: without a known leader the read cannot be proven now.
    s.out.readStates.push({ id, kind: "failed", reason: "noLeader", leader: null })
  }
}

export const handleReadIndexRequest = (s: RaftState, m: ReadIndexRequest): void => {
  if (s.role !== "leader") {
    s.out.messages.push(readResponse(s, m.from, m.ids, 0, "notLeader"))
    return
  }
  for (const id of m.ids) s.readQueue.push({ id, from: m.from })
  maybeStartReadRound(s)
}

export const handleReadIndexResponse = (s: RaftState, m: ReadIndexResponse): void => {
  for (const id of m.ids) {
    if (m.reject === null) s.out.readStates.push({ id, kind: "ready", index: m.index })
    else s.out.readStates.push({ id, kind: "failed", reason: m.reject, leader: m.leader })
  }
}

const readResponse = (
  s: RaftState,
  to: NodeId,
  ids: readonly number[],
  index: number,
  reject: ReadIndexResponse["reject"],
): ReadIndexResponse => ({
  type: "readIndexResp",
  group: s.group,
  from: s.id,
  to,
  term: s.term,
  ids,
  index,
  reject,
  leader: reject === null ? s.id : s.leader,
})

const committedInTerm = (s: RaftState): boolean => termAt(s.log, s.commit) === s.term

/** Starts a round for the queued reads if none is in flight (called on reads and on commit). */
export const maybeStartReadRound = (s: RaftState): void => {
  while (s.readRound === null && s.readQueue.length > 0 && committedInTerm(s)) {
    const round: ReadRound = {
      context: ++s.readContext,
      index: s.commit,
      acks: new Set(),
      reads: s.readQueue,
    }
    s.readQueue = []
    if (s.voters.has(s.id)) round.acks.add(s.id)
    if (roundConfirmed(s, round)) {
      releaseRound(s, round)
      continue
    }
    s.readRound = round
    bcastHeartbeat(s, round.context)
  }
}

const roundConfirmed = (s: RaftState, round: ReadRound): boolean => {
  let n = 0
  for (const id of round.acks) if (s.voters.has(id)) n++
  return n >= quorumOf(s.voters.size)
}

/** A heartbeat answer echoing `context`: it confirms the round with that context. */
export const ackReadRound = (s: RaftState, from: NodeId, context: number): void => {
  const round = s.readRound
  if (round === null || context !== round.context) return
  round.acks.add(from)
  if (!roundConfirmed(s, round)) return
  s.readRound = null
  releaseRound(s, round)
  maybeStartReadRound(s)
}

const releaseRound = (s: RaftState, round: ReadRound): void => {
  answer(s, round.reads, round.index, null)
}

/** Groups answers per requester: local reads become read states, remote ones one message each. */
const answer = (
  s: RaftState,
  reads: readonly PendingRead[],
  index: number,
  reject: ReadIndexResponse["reject"],
): void => {
  let remote: Map<NodeId, number[]> | null = null
  for (const r of reads) {
    if (r.from === s.id) {
      s.out.readStates.push(
        reject === null
          ? { id: r.id, kind: "ready", index }
          : { id: r.id, kind: "failed", reason: reject, leader: s.leader },
      )
    } else {
      remote ??= new Map()
      const ids = remote.get(r.from)
      if (ids === undefined) remote.set(r.from, [r.id])
      else ids.push(r.id)
    }
  }
  if (remote !== null)
    for (const [to, ids] of remote) s.out.messages.push(readResponse(s, to, ids, index, reject))
}

/** A leader stepping down fails every read it holds: the caller answers UNAVAILABLE or retries. */
export const failPendingReads = (s: RaftState, newLeader: NodeId | null): void => {
  const reads = s.readRound === null ? s.readQueue : [...s.readRound.reads, ...s.readQueue]
  s.readRound = null
  s.readQueue = []
  if (reads.length === 0) return
  const leaderBefore = s.leader
  s.leader = newLeader
  answer(s, reads, 0, "notLeader")
  s.leader = leaderBefore
}

export const readRoundContext = (s: RaftState): number => (s.readRound === null ? 0 : s.readRound.context)
