/**
 * The whole state of one Raft replica. The caller owns it linearly: `step` mutates it in place
 * and returns the same object, so the caller must use only the returned state (never an old
 * reference, never share it between replicas).
 */
import type { ConfState, Entry, NodeId, Snapshot } from "../../schemas/raft.ts"
import type { LogLost, ProposalOutcome, RaftConfig, ReadState, Role } from "./api.ts"
import type { RaftLog } from "./log.ts"
import type { Message } from "./messages.ts"
import type { Progress } from "./progress.ts"

/** A read waiting for its index: `from` is this node for local reads, a follower for forwarded ones. */
export interface PendingRead {
  readonly id: number
  readonly from: NodeId
}

/** One ReadIndex heartbeat round: released when a quorum of voters has echoed `context`. */
export interface ReadRound {
  readonly context: number
  readonly index: number
  readonly acks: Set<NodeId>
  readonly reads: PendingRead[]
}

/** Everything the current step produced, turned into a Ready at the end of the step. */
export interface Outbox {
  messages: Message[]
  entries: Entry[]
  truncateFrom: number | null
  snapshot: Snapshot | null
  compactTo: number | null
  logLost: LogLost | null
  readStates: ReadState[]
  proposals: ProposalOutcome[]
}

export interface ResolvedConfig extends RaftConfig {
  readonly transferTimeoutTicks: number
  readonly electionJitterTicks: number
}

export interface RaftState {
  readonly config: ResolvedConfig
  readonly id: NodeId
  readonly group: number

  // Durable (HardState).
  term: number
  vote: NodeId | null
  commit: number

  // Volatile.
  role: Role
  leader: NodeId | null
  log: RaftLog
  /** The latest snapshot (received or taken), sent to followers behind the log floor. */
  snapshot: Snapshot | null
  /** The local log is durable up to here (the `persisted` input). */
  persistedIndex: number
  /** The state machine has applied up to here (the `applied` input). */
  applied: number
  /** Committed entries were handed out in a Ready up to here. */
  handedOut: number

  // Membership (see conf.ts).
  conf: ConfState
  voters: Set<NodeId>
  learners: Set<NodeId>
  /** The membership at `confBase.index` (snapshot or bootstrap), the base to rebuild from. */
  confBase: { index: number; conf: ConfState }
  /** Indexes of conf entries in the log above `confBase.index`, ascending. */
  confIndexes: number[]
  /** Leader: index of the latest conf entry it appended (or its first noop). */
  pendingConfIndex: number

  // Timers and randomness.
  electionElapsed: number
  heartbeatElapsed: number
  randomizedElectionTimeout: number
  rng: number

  // Elections.
  votes: Map<NodeId, boolean>

  // Leader.
  progress: Map<NodeId, Progress>
  transferee: NodeId | null
  transferElapsed: number

  // ReadIndex.
  readContext: number
  readRound: ReadRound | null
  /** Reads waiting for the next round (or for the leader's first commit in its term). */
  readQueue: PendingRead[]

  /** Messages dropped because they named another group (or another node). */
  foreignMessages: number

  out: Outbox
  lastHard: { term: number; vote: NodeId | null; commit: number }
  lastSoft: { role: Role; leader: NodeId | null; term: number }
}

export const emptyOutbox = (): Outbox => ({
  messages: [],
  entries: [],
  truncateFrom: null,
  snapshot: null,
  compactTo: null,
  logLost: null,
  readStates: [],
  proposals: [],
})

export const isVoter = (s: RaftState): boolean => s.voters.has(s.id)

/** The role a non-leader, non-candidate replica has under the current membership. */
export const passiveRole = (s: RaftState): Role => (s.learners.has(s.id) ? "learner" : "follower")

export const quorumOf = (voterCount: number): number => Math.floor(voterCount / 2) + 1
