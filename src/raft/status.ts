/** A read-only summary of a replica, for the node layer, the CLI and the simulator's checks. */
import type { ConfState, NodeId } from "../../schemas/raft.ts"
import type { Role } from "./api.ts"
import { lastIndex, lastTerm } from "./log.ts"
import { lastConfIndex } from "./log-ops.ts"
import type { ProgressState } from "./progress.ts"
import type { RaftState } from "./state.ts"

export interface PeerStatus {
  readonly match: number
  readonly next: number
  readonly state: ProgressState
  readonly inflight: number
  readonly recentActive: boolean
}

export interface RaftStatus {
  readonly id: NodeId
  readonly group: number
  readonly role: Role
  readonly term: number
  readonly vote: NodeId | null
  readonly leader: NodeId | null
  readonly commit: number
  readonly applied: number
  readonly lastIndex: number
  readonly lastTerm: number
  /** The in-memory log starts after this index (the compaction floor). */
  readonly firstIndex: number
  readonly persistedIndex: number
  readonly conf: ConfState
  /** The log index of the entry (or snapshot/bootstrap base) that set `conf`. */
  readonly confIndex: number
  readonly transferee: NodeId | null
  readonly pendingReads: number
  readonly foreignMessages: number
  /** Leader only: what it knows of each other member. */
  readonly progress: Readonly<Record<NodeId, PeerStatus>> | null
}

export const status = (s: RaftState): RaftStatus => {
  let progress: Record<NodeId, PeerStatus> | null = null
  if (s.role === "leader") {
    progress = {}
    for (const pr of s.progress.values()) {
      progress[pr.id] = {
        match: pr.match,
        next: pr.next,
        state: pr.state,
        inflight: pr.inflight.length,
        recentActive: pr.recentActive,
      }
    }
  }
  return {
    id: s.id,
    group: s.group,
    role: s.role,
    term: s.term,
    vote: s.vote,
    leader: s.leader,
    commit: s.commit,
    applied: s.applied,
    lastIndex: lastIndex(s.log),
    lastTerm: lastTerm(s.log),
    firstIndex: s.log.floorIndex + 1,
    persistedIndex: s.persistedIndex,
    conf: s.conf,
    confIndex: lastConfIndex(s),
    transferee: s.transferee,
    pendingReads: s.readQueue.length + (s.readRound === null ? 0 : s.readRound.reads.length),
    foreignMessages: s.foreignMessages,
    progress,
  }
}
