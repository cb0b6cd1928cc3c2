/**
 * The public contract of the pure Raft core: `step(state, input) → [state, ready]`.
 *
 * The core has no clock, no randomness (a seeded PRNG lives in the state) and no I/O.
 * The caller (the replica actor, the simulator, the benchmark) owns the state linearly:
 * after `step` it must use only the returned state. The core may reuse the object.
 *
 * The caller's loop:
 *  1. persist `ready.hardState`, `ready.truncateFrom`/`ready.entries`, `ready.snapshot` and
 *     `ready.compactTo` in ONE durable transaction;
 *  2. only then send `ready.messages`;
 *  3. step `{ type: "persisted", ... }` for what it made durable;
 *  4. apply `ready.committedEntries` (and install `ready.snapshot` into the state machine),
 *     then step `{ type: "applied", index }`.
 */
import type {
  ConfChange,
  ConfState,
  Entry,
  GroupId,
  HardState,
  NodeId,
  Snapshot,
} from "../../schemas/raft.ts"

export interface RaftConfig {
  readonly group: GroupId
  readonly id: NodeId
  /**
   * Ticks without hearing from a leader before a follower campaigns; randomized in
   * [t, t + electionJitterTicks).
   */
  readonly electionTicks: number
  /** Width of the randomization added to electionTicks (≥ 1). Defaults to electionTicks: [t, 2t). */
  readonly electionJitterTicks?: number
  /** Ticks between leader heartbeats. Must be < electionTicks. */
  readonly heartbeatTicks: number
  readonly preVote: boolean
  readonly checkQuorum: boolean
  readonly maxEntriesPerAppend: number
  /** Bound on unacknowledged append messages per follower in replicate state. */
  readonly maxInflightAppends: number
  /** Ticks a leadership transfer may take before it is aborted. Defaults to electionTicks. */
  readonly transferTimeoutTicks?: number
  /** Seed of the PRNG that randomizes election timeouts. */
  readonly seed: number
  /** TEST ONLY: deliberately break a safety rule so the simulator can prove it detects it. */
  readonly injectBug?: "commitPreviousTerm" | "sendBeforePersist"
}

/** What the caller loaded from durable storage when (re)starting the replica. */
export interface PersistedState {
  readonly hardState: HardState
  /** The latest snapshot: its metadata defines the log floor and the membership at that point. */
  readonly snapshot: Snapshot | null
  /** Entries after the snapshot, in order and contiguous. */
  readonly entries: readonly Entry[]
  /** Membership when there is no snapshot (the bootstrap configuration). */
  readonly bootstrapConf: ConfState
  /**
   * How far the (durable) state machine has applied, if it keeps its state across restarts;
   * committed entries are handed out again from here (default: the snapshot index).
   */
  readonly applied?: number
}

/** Every message names its group so one node can drive many groups over one transport. */
export interface MessageEnvelope {
  readonly group: GroupId
  readonly from: NodeId
  readonly to: NodeId
  readonly term: number
}

export type Role = "follower" | "preCandidate" | "candidate" | "leader" | "learner"

export type Input =
  | { readonly type: "tick" }
  | { readonly type: "message"; readonly message: import("./messages.ts").Message }
  /** A client command. `id` is the caller's handle, echoed in `ready.proposals`. */
  | { readonly type: "propose"; readonly id: number; readonly data: Uint8Array }
  /** Many client commands in one step: one append message per follower for the whole batch. */
  | {
      readonly type: "proposeBatch"
      readonly proposals: readonly { readonly id: number; readonly data: Uint8Array }[]
    }
  /** A linearizable read. `id` is echoed in `ready.readStates` once the read index is proven. */
  | { readonly type: "readIndex"; readonly id: number }
  | { readonly type: "confChange"; readonly id: number; readonly change: ConfChange }
  | { readonly type: "transferLeader"; readonly to: NodeId }
  | { readonly type: "abortTransfer" }
  /** Operator action: make this voter campaign now. */
  | { readonly type: "campaign" }
  /**
   * The log up to (index, term) is durable. A pipelining caller (the node's replica) may have later
   * Readys still in flight; the core only uses it for the leader's own match, and ignores it when
   * the entry at `index` no longer has `term`.
   */
  | { readonly type: "persisted"; readonly index: number; readonly term: number }
  /** The state machine has applied every entry up to `index`. */
  | { readonly type: "applied"; readonly index: number }
  /** The state machine took a snapshot at `snapshot.meta.index`; the log may be compacted below it. */
  | { readonly type: "snapshotTaken"; readonly snapshot: Snapshot; readonly keepEntries: number }

export type ProposalOutcome =
  /** Appended to the leader's log at (index, term); it commits iff that entry is applied with that term. */
  | { readonly id: number; readonly kind: "appended"; readonly index: number; readonly term: number }
  | {
      readonly id: number
      readonly kind: "rejected"
      readonly reason: RejectReason
      readonly leader: NodeId | null
    }

/** For a conf change, "notVoter" also means the change is invalid (a member added twice, the last voter removed, ...). */
export type RejectReason = "notLeader" | "transferring" | "confChangeInProgress" | "notVoter" | "noLeader"

/**
 * The answer to a `readIndex` input. "ready": the read is linearizable once this node's state
 * machine has applied up to `index`; serve it then. "failed": answer UNAVAILABLE (or retry at
 * `leader`); never serve it locally.
 */
export type ReadState =
  | { readonly id: number; readonly kind: "ready"; readonly index: number }
  | {
      readonly id: number
      readonly kind: "failed"
      readonly reason: RejectReason
      readonly leader: NodeId | null
    }

export interface SoftState {
  readonly role: Role
  readonly leader: NodeId | null
  readonly term: number
}

export interface Ready {
  /** Present when term, vote or commit changed. */
  readonly hardState: HardState | null
  /** Delete every log entry with index >= truncateFrom before appending `entries`. */
  readonly truncateFrom: number | null
  readonly entries: readonly Entry[]
  /**
   * A snapshot received from the leader: persist it, install it in the state machine, and drop
   * the whole old log (`truncateFrom` is then meta.index + 1; `entries`, if any, follow it).
   */
  readonly snapshot: Snapshot | null
  /** The log may be compacted: entries with index <= compactTo may be deleted. */
  readonly compactTo: number | null
  /**
   * Send only after everything above is durable. One allowed optimization (Raft thesis 10.2.1):
   * while `softState`/role says leader, `append`, `heartbeat` and `snapshot` messages FROM the
   * leader may be sent before its own Ready is durable, because the leader counts its own log
   * only after the `persisted` input. Every other message must wait for durability.
   */
  readonly messages: readonly import("./messages.ts").Message[]
  readonly committedEntries: readonly Entry[]
  readonly readStates: readonly ReadState[]
  readonly proposals: readonly ProposalOutcome[]
  /** Present when role, leader or term changed. */
  readonly softState: SoftState | null
  /**
   * Present when the leader knows this replica durably matched entries it no longer has (a
   * heartbeat's commit, capped at what we acknowledged, lies past our log): its data directory was
   * wiped or lost. It must not take part again under its old identity (its votes and acknowledged
   * entries are gone); the caller stops it and tells the operator to remove and re-add the node.
   */
  readonly logLost?: LogLost
}

export interface LogLost {
  readonly leader: NodeId
  /** What the leader knows we matched (the heartbeat's commit). */
  readonly acknowledged: number
  readonly lastIndex: number
}
