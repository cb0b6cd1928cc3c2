/**
 * The Raft data types shared by the pure core (`src/raft`), the log store (`src/storage`),
 * the state machine (`src/kv`) and the transport. Plain readonly data: no classes, no
 * methods, so that a Ready can be persisted, sent and compared without conversion.
 *
 * Indexes and terms are JS numbers (safe up to 2^53); the SQLite layer reads them with
 * `safeIntegers` and converts at its boundary.
 */

/** A Raft group. 0 is the control-plane (CP) group; 1..N are key partition groups (KPGs). */
export type GroupId = number

/** A node's stable id, as given by `--node-id` (for example "n1"). */
export type NodeId = string

export const CP_GROUP: GroupId = 0

export type EntryType =
  /** A client command for the state machine (opaque bytes). */
  | "normal"
  /** A membership change; `data` is a JSON-encoded `ConfChange`. */
  | "conf"
  /** An empty entry a new leader appends to commit entries of earlier terms. */
  | "noop"

export interface Entry {
  readonly index: number
  readonly term: number
  readonly type: EntryType
  readonly data: Uint8Array
}

/** What must be durable before a node answers votes or appends. */
export interface HardState {
  readonly term: number
  readonly vote: NodeId | null
  readonly commit: number
}

/** The membership of a group. `votersOutgoing` is non-empty only during a joint configuration. */
export interface ConfState {
  readonly voters: readonly NodeId[]
  readonly learners: readonly NodeId[]
  readonly votersOutgoing: readonly NodeId[]
}

/**
 * `demoteToLearner` turns a voter into a non-voting learner (an observer: it keeps receiving the
 * log); quorum-wise it is the removal of one voter, so it is as safe as `removeNode`.
 */
export type ConfChangeType = "addVoter" | "addLearner" | "removeNode" | "demoteToLearner"

export interface ConfChange {
  readonly type: ConfChangeType
  readonly node: NodeId
  /**
   * `addLearner` only: the leader promotes this learner to voter once it has caught up
   * (`lattice admin add-node`). Stored in the conf entry, so every replica knows the intent.
   */
  readonly promote?: boolean
}

export interface SnapshotMeta {
  readonly index: number
  readonly term: number
  readonly conf: ConfState
}

/** A state-machine snapshot: metadata plus the state machine's own opaque encoding. */
export interface Snapshot {
  readonly meta: SnapshotMeta
  readonly data: Uint8Array
}

export const emptyHardState: HardState = { term: 0, vote: null, commit: 0 }
export const emptyConfState: ConfState = { voters: [], learners: [], votersOutgoing: [] }
