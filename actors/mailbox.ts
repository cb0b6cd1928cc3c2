/** What a RaftReplica's mailbox carries. Every external input goes through it, in order. */
import type { Deferred, Either } from "effect"
import type { ConfChange, Snapshot } from "../schemas/raft.ts"
import type { ProposalOutcome } from "../src/raft/index.ts"
import type { Message } from "../src/raft/messages.ts"
import type { ReplicaStopped, RequestFailure } from "./errors.ts"
import type { ProposalResult } from "./waiters.ts"

export interface PendingProposal {
  readonly data: Uint8Array
  readonly done: ProposalResult
}

export type ReplicaInput =
  | { readonly _tag: "tick" }
  | { readonly _tag: "message"; readonly message: Message }
  /** One batch of client commands, stepped as one `proposeBatch`. */
  | { readonly _tag: "propose"; readonly proposals: readonly PendingProposal[] }
  /**
   * One ReadIndex round for a whole batch of reads; `done` gets the proven read index (a plain
   * callback, so a caller need not be a fiber; called once, on the replica's fiber).
   */
  | { readonly _tag: "readIndex"; readonly done: (outcome: Either.Either<number, RequestFailure>) => void }
  | { readonly _tag: "transferLeader"; readonly to: string }
  /**
   * A membership change: `outcome` gets the core's answer (appended or rejected); once appended,
   * `done` resolves when the entry is applied (committed) with the term it was appended with.
   */
  | {
      readonly _tag: "confChange"
      readonly change: ConfChange
      readonly outcome: Deferred.Deferred<ProposalOutcome, ReplicaStopped>
      readonly done: ProposalResult
    }
  | { readonly _tag: "campaign" }
  /** From the replica's completion of a durable cycle: its log up to (index, term) is durable. */
  | { readonly _tag: "durable"; readonly index: number; readonly term: number }
  /** From the apply loop: the state machine applied up to `index`. */
  | { readonly _tag: "applied"; readonly index: number }
  /**
   * From the apply loop: it took this snapshot; persist it and let the core compact. An operator's
   * snapshot (`lattice admin snapshot` / `compact-log`) carries its own `keepEntries` and `done`.
   */
  | {
      readonly _tag: "snapshotTaken"
      readonly snapshot: Snapshot
      readonly keepEntries?: number
      readonly done?: Deferred.Deferred<SnapshotReport, ReplicaStopped>
    }

/** What an operator's snapshot did: where it was taken, and where the log now starts. */
export interface SnapshotReport {
  readonly index: number
  readonly term: number
  /** The log's first index after compaction. */
  readonly firstIndex: number
  readonly lastIndex: number
}

/** What the apply loop's queue carries, in log order. */
export type ApplyTask =
  | { readonly _tag: "entries"; readonly entries: readonly import("../schemas/raft.ts").Entry[] }
  /** A snapshot received from the leader (already durable in the log store): install it. */
  | { readonly _tag: "install"; readonly snapshot: Snapshot }
  /** Commit the applies waiting in the state machine's open transaction (its commit window). */
  | { readonly _tag: "commit" }
  /** An operator asked for a snapshot now (and compaction keeping `keepEntries`, when given). */
  | {
      readonly _tag: "snapshotNow"
      readonly keepEntries?: number
      readonly done: Deferred.Deferred<SnapshotReport, ReplicaStopped>
    }
