/**
 * Why a request handed to a group's actors did not complete. The node layer maps each to the
 * etcd error a client sees (all UNAVAILABLE except `notLeader`, which triggers forwarding).
 */
import { Data } from "effect"
import type { NodeId } from "../schemas/raft.ts"

/** The core refused the proposal or read here; `leader` is where to forward it, if known. */
export class NotLeader extends Data.TaggedError("NotLeader")<{ readonly leader: NodeId | null }> {}

/** The entry was replaced by another leader's entry at the same index: the write did not happen. */
export class LeaderChanged extends Data.TaggedError("LeaderChanged")<{ readonly index: number }> {}

/** ReadIndex could not be proven (no leader, quorum lost, leader stepped down). LIN-BOUND: fail closed. */
export class ReadUnavailable extends Data.TaggedError("ReadUnavailable")<{ readonly reason: string }> {}

/** The replica stopped (shutdown, crash, quarantine) before the request completed. */
export class ReplicaStopped extends Data.TaggedError("ReplicaStopped")<{ readonly reason: string }> {}

/** The mailbox is full: the replica is overloaded. */
export class Overloaded extends Data.TaggedError("Overloaded")<Record<never, never>> {}

export type RequestFailure = NotLeader | LeaderChanged | ReadUnavailable | ReplicaStopped | Overloaded

/** The leader refused a membership change (invalid for the current membership, or one is in progress). */
export class ConfChangeRefused extends Data.TaggedError("ConfChangeRefused")<{
  readonly reason: string
  /** True when retrying later may succeed (another change is still committing, a transfer is running). */
  readonly retryable: boolean
}> {}
