/** The latest summary a replica publishes after each cycle, read by the node layer and /v1/status. */
import type { NodeId } from "../schemas/raft.ts"
import type { RaftStatus } from "../src/raft/index.ts"

export interface ReplicaView {
  status: RaftStatus
  /** Leader changes seen by this replica (metrics, tests). */
  leaderChanges: number
  /** Raft messages dropped because the mailbox was full. */
  droppedMessages: number
  /** Cycles run (each: drain mailbox, persist once, send, apply). */
  cycles: number
  readonly self: NodeId
}
