/**
 * The messages Raft replicas exchange. Every message extends `MessageEnvelope` (group, from, to,
 * term) so one transport can carry many groups; `type` discriminates the union.
 */
import type { Entry, Snapshot } from "../../schemas/raft.ts"
import type { MessageEnvelope, RejectReason } from "./api.ts"

/** Sent with term = candidate's term + 1 WITHOUT bumping it, to learn if an election could be won. */
export interface PreVoteRequest extends MessageEnvelope {
  readonly type: "preVote"
  readonly lastIndex: number
  readonly lastTerm: number
}

/** A granted pre-vote carries the requested term; a rejection carries the voter's own term. */
export interface PreVoteResponse extends MessageEnvelope {
  readonly type: "preVoteResp"
  readonly reject: boolean
}

export interface VoteRequest extends MessageEnvelope {
  readonly type: "vote"
  readonly lastIndex: number
  readonly lastTerm: number
  /** Set by a leadership transfer or a forced election: voters ignore their leader lease. */
  readonly force: boolean
}

export interface VoteResponse extends MessageEnvelope {
  readonly type: "voteResp"
  readonly reject: boolean
}

export interface AppendRequest extends MessageEnvelope {
  readonly type: "append"
  readonly prevIndex: number
  readonly prevTerm: number
  readonly entries: readonly Entry[]
  readonly commit: number
}

/**
 * On success `index` is the last index the follower now matches. On rejection `index` is the
 * rejected `prevIndex`, and the hint names the follower's conflicting term and the first index it
 * holds with that term (`hintTerm` 0: the follower's log ends at `hintIndex - 1`).
 */
export interface AppendResponse extends MessageEnvelope {
  readonly type: "appendResp"
  readonly reject: boolean
  readonly index: number
  readonly hintIndex: number
  readonly hintTerm: number
}

/** `commit` is min(follower's match, leader's commit); `context` > 0 names a ReadIndex round. */
export interface HeartbeatRequest extends MessageEnvelope {
  readonly type: "heartbeat"
  readonly commit: number
  readonly context: number
}

export interface HeartbeatResponse extends MessageEnvelope {
  readonly type: "heartbeatResp"
  readonly context: number
}

/** InstallSnapshot: the follower is behind the leader's log floor. Answered with an AppendResponse. */
export interface SnapshotRequest extends MessageEnvelope {
  readonly type: "snapshot"
  readonly snapshot: Snapshot
}

/** Leadership transfer: the target campaigns at once, skipping PreVote. */
export interface TimeoutNow extends MessageEnvelope {
  readonly type: "timeoutNow"
}

/** A follower forwards its callers' read requests to the leader; `ids` are the follower's handles. */
export interface ReadIndexRequest extends MessageEnvelope {
  readonly type: "readIndex"
  readonly ids: readonly number[]
}

export interface ReadIndexResponse extends MessageEnvelope {
  readonly type: "readIndexResp"
  readonly ids: readonly number[]
  /** The proven read index; meaningless when `reject` is set. */
  readonly index: number
  readonly reject: RejectReason | null
  readonly leader: string | null
}

export type Message =
  | PreVoteRequest
  | PreVoteResponse
  | VoteRequest
  | VoteResponse
  | AppendRequest
  | AppendResponse
  | HeartbeatRequest
  | HeartbeatResponse
  | SnapshotRequest
  | TimeoutNow
  | ReadIndexRequest
  | ReadIndexResponse

export type MessageType = Message["type"]
