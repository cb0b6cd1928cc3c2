/**
 * Leadership transfer: the leader stops taking proposals, brings the target up to date, then
 * sends TimeoutNow; the target campaigns at once. Aborted after transferTimeoutTicks or on request.
 */
import type { NodeId } from "../../schemas/raft.ts"
import { lastIndex } from "./log.ts"
import { becomeProbe, isPaused, type Progress } from "./progress.ts"
import { sendAppend } from "./replication.ts"
import type { RaftState } from "./state.ts"

export const transferLeader = (s: RaftState, to: NodeId): void => {
  if (s.role !== "leader" || to === s.id || !s.voters.has(to)) return
  const pr = s.progress.get(to)
  if (pr === undefined) return
  s.transferee = to
  s.transferElapsed = 0
  if (sendTimeoutNowIfCaughtUp(s, pr)) return
  // Start catching the target up now rather than at the next heartbeat answer.
  if (pr.state !== "snapshot" && isPaused(pr, s.config.maxInflightAppends)) becomeProbe(pr)
  sendAppend(s, pr, true)
}

export const sendTimeoutNowIfCaughtUp = (s: RaftState, pr: Progress): boolean => {
  if (pr.match !== lastIndex(s.log)) return false
  s.out.messages.push({ type: "timeoutNow", group: s.group, from: s.id, to: pr.id, term: s.term })
  return true
}

export const abortTransfer = (s: RaftState): void => {
  s.transferee = null
  s.transferElapsed = 0
}
