/**
 * The leader's per-follower lag (lattice status, lattice_replication_lag_seconds): it counts
 * from the last time a follower matched the leader's log, and a member removed from the group
 * disappears from it instead of lagging forever.
 */
import { describe, expect, test } from "bun:test"
import { PeerLiveness } from "../../../src/node/liveness.ts"
import type { PeerStatus, RaftStatus } from "../../../src/raft/index.ts"

const peer = (match: number): PeerStatus => ({
  match,
  next: match + 1,
  state: "replicate",
  inflight: 0,
  recentActive: true,
})

const leaderStatus = (lastIndex: number, progress: Record<string, PeerStatus>): RaftStatus =>
  ({
    id: "n1",
    group: 1,
    role: "leader",
    term: 2,
    leader: "n1",
    lastIndex,
    commit: lastIndex,
    conf: { voters: Object.keys(progress), learners: [], votersOutgoing: [] },
    progress,
  }) as unknown as RaftStatus

describe("PeerLiveness lag", () => {
  test("a follower behind the leader's last index lags from when it last matched", () => {
    const l = new PeerLiveness("n1", 500)
    l.sample(1000, [leaderStatus(10, { n1: peer(10), n2: peer(10), n3: peer(10) })])
    l.sample(4000, [leaderStatus(20, { n1: peer(20), n2: peer(20), n3: peer(12) })])
    const st = leaderStatus(20, { n1: peer(20), n2: peer(20), n3: peer(12) })
    expect(l.view(st).lagSeconds).toEqual({ n2: 0, n3: 3 })
  })

  test("a removed member is dropped from the lag report", () => {
    const l = new PeerLiveness("n1", 500)
    l.sample(1000, [leaderStatus(10, { n1: peer(10), n2: peer(10), n3: peer(10), n4: peer(3) })])
    const after = leaderStatus(11, { n1: peer(11), n2: peer(11), n3: peer(11) })
    l.sample(2000, [after])
    expect(Object.keys(l.view(after).lagSeconds ?? {}).sort()).toEqual(["n2", "n3"])
  })
})
