/**
 * What a leader knows about one follower's log, and the flow control for sending to it:
 * - probe: one append at a time until the follower's match point is found;
 * - replicate: appends are pipelined optimistically, at most `maxInflightAppends` unacknowledged;
 * - snapshot: an InstallSnapshot is outstanding; appends pause until it is answered or times out.
 */
import type { NodeId } from "../../schemas/raft.ts"

export type ProgressState = "probe" | "replicate" | "snapshot"

export interface Progress {
  readonly id: NodeId
  match: number
  next: number
  state: ProgressState
  /** probe: an append is outstanding, wait for its answer (or a heartbeat answer) before the next. */
  probeSent: boolean
  /** replicate: the last index carried by each unacknowledged append, oldest first. */
  inflight: number[]
  /** snapshot: the index of the snapshot sent, and ticks since it was sent. */
  pendingSnapshot: number
  snapshotTicks: number
  /** Heard from this peer since the last CheckQuorum round. */
  recentActive: boolean
}

export const makeProgress = (id: NodeId, next: number): Progress => ({
  id,
  match: 0,
  next,
  state: "probe",
  probeSent: false,
  inflight: [],
  pendingSnapshot: 0,
  snapshotTicks: 0,
  recentActive: false,
})

export const becomeProbe = (pr: Progress): void => {
  // After a snapshot, optimistically resume right after it: a rejection backtracks from there.
  pr.next = pr.state === "snapshot" ? Math.max(pr.match + 1, pr.pendingSnapshot + 1) : pr.match + 1
  pr.state = "probe"
  pr.probeSent = false
  pr.inflight.length = 0
  pr.pendingSnapshot = 0
}

export const becomeReplicate = (pr: Progress): void => {
  pr.state = "replicate"
  pr.next = pr.match + 1
  pr.probeSent = false
  pr.inflight.length = 0
  pr.pendingSnapshot = 0
}

export const becomeSnapshot = (pr: Progress, index: number): void => {
  pr.state = "snapshot"
  pr.pendingSnapshot = index
  pr.snapshotTicks = 0
  pr.inflight.length = 0
  pr.probeSent = false
}

/** Records a successful append answer; false when it told us nothing new. */
export const updateMatch = (pr: Progress, index: number): boolean => {
  let updated = false
  if (index > pr.match) {
    pr.match = index
    updated = true
    pr.probeSent = false
  }
  if (pr.next < index + 1) pr.next = index + 1
  return updated
}

/** Frees the in-flight slots of appends acknowledged up to `index`. */
export const freeInflightUpTo = (pr: Progress, index: number): void => {
  let n = 0
  while (n < pr.inflight.length && pr.inflight[n]! <= index) n++
  if (n > 0) pr.inflight.splice(0, n)
}

export const isPaused = (pr: Progress, maxInflight: number): boolean => {
  switch (pr.state) {
    case "probe":
      return pr.probeSent
    case "replicate":
      return pr.inflight.length >= maxInflight
    case "snapshot":
      return true
  }
}
