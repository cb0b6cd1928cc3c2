/** Snapshots: installing one from the leader, and compacting after the state machine took one. */
import type { Snapshot } from "../../schemas/raft.ts"
import { appendResponse } from "./follower.ts"
import { compactTo, resetLog, termAt } from "./log.ts"
import { confAt, refreshConfSets } from "./log-ops.ts"
import type { SnapshotRequest } from "./messages.ts"
import type { RaftState } from "./state.ts"

/** Follower: InstallSnapshot. Always answered with an AppendResponse carrying what we now match. */
export const handleSnapshot = (s: RaftState, m: SnapshotRequest): void => {
  const meta = m.snapshot.meta
  if (meta.index <= s.commit) {
    s.out.messages.push(appendResponse(s, m.from, false, s.commit, 0, 0))
    return
  }
  if (termAt(s.log, meta.index) === meta.term) {
    // We already hold that entry: the log matches up to it, just commit it.
    s.commit = meta.index
    s.out.messages.push(appendResponse(s, m.from, false, s.commit, 0, 0))
    return
  }
  resetLog(s.log, meta.index, meta.term)
  s.snapshot = m.snapshot
  s.commit = meta.index
  s.handedOut = meta.index
  if (s.persistedIndex > meta.index) s.persistedIndex = meta.index
  s.confBase = { index: meta.index, conf: meta.conf }
  s.confIndexes = []
  s.conf = meta.conf
  refreshConfSets(s)
  const out = s.out
  out.snapshot = m.snapshot
  out.entries = []
  // The whole old log goes: below the snapshot (covered by it) and above it (unproven).
  out.truncateFrom = meta.index + 1
  s.out.messages.push(appendResponse(s, m.from, false, meta.index, 0, 0))
}

/** The state machine snapshotted at `snapshot.meta.index`: keep it for followers and compact the log. */
export const snapshotTaken = (s: RaftState, snapshot: Snapshot, keepEntries: number): void => {
  const index = snapshot.meta.index
  const floorSnapshot = s.snapshot === null ? 0 : s.snapshot.meta.index
  if (index <= floorSnapshot || index > s.commit) return
  const term = termAt(s.log, index)
  if (term < 0) return
  // Membership as the core knows it at that index (the caller's meta.conf should match confStateAt).
  const conf = confAt(s, index) ?? snapshot.meta.conf
  s.snapshot = { meta: { index, term, conf }, data: snapshot.data }
  s.confIndexes = s.confIndexes.filter((i) => i > index)
  s.confBase = { index, conf }
  if (s.applied < index) s.applied = index
  if (s.handedOut < index) s.handedOut = index
  const to = index - Math.max(0, keepEntries)
  if (to > s.log.floorIndex) {
    compactTo(s.log, to)
    s.out.compactTo = to
  }
}
