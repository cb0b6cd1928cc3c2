/** The latest summary a replica publishes after each cycle, read by the node layer and /v1/status. */
import { Deferred, Effect, Exit, FiberId } from "effect"
import type { NodeId } from "../schemas/raft.ts"
import type { RaftStatus } from "../src/raft/index.ts"

export interface ReplicaView {
  status: RaftStatus
  /** Leader changes seen by this replica (metrics, tests). */
  leaderChanges: number
  /** Fired once `status.leader` has changed (writes waiting for a leader retry on it). */
  readonly leaderChanged: ChangeSignal
  /** Raft messages dropped because the mailbox was full. */
  droppedMessages: number
  /** Cycles run (each: drain mailbox, persist once, send, apply). */
  cycles: number
  readonly self: NodeId
}

/** Wakes every fiber waiting for the next change (a leader change, here): no polling. */
export class ChangeSignal {
  private waiting: Deferred.Deferred<void> = Deferred.unsafeMake(FiberId.none)
  /** Completes at the next `fire` after it is evaluated. */
  readonly next: Effect.Effect<void> = Effect.suspend(() => Deferred.await(this.waiting))
  fire(): void {
    const fired = this.waiting
    this.waiting = Deferred.unsafeMake(FiberId.none)
    Deferred.unsafeDone(fired, Exit.void)
  }
}
