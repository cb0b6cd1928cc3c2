/**
 * What a node knows about its peers' health, per group, from the Raft traffic it sees:
 *  - when each peer was last heard from (any inbound Raft message), so "healthy" means heard
 *    within the election timeout (the node itself always counts);
 *  - on the leader, when each follower's log last matched the leader's last index, so its
 *    replication lag can be told in seconds (`lattice_replication_lag_seconds`).
 * The sampler runs every tick; it reads the replica's published status, never the Raft state.
 * Metrics, `/v1/status` and `lattice status` all read this one view.
 */
import type { GroupId, NodeId } from "../../schemas/raft.ts"
import type { Message } from "../raft/messages.ts"
import type { RaftStatus } from "../raft/status.ts"

export interface GroupLiveness {
  readonly voters: readonly NodeId[]
  /** Voters this node knows are up: itself, and every voter heard from within the election timeout. */
  readonly healthy: readonly NodeId[]
  /** A quorum of voters is up: on the leader, counted; on a follower, it hears from a leader (CheckQuorum keeps one only with a quorum). */
  readonly quorum: boolean
  /** Leader only: seconds since each follower's log last matched the leader's. */
  readonly lagSeconds: Readonly<Record<NodeId, number>> | null
}

export class PeerLiveness {
  private readonly heard = new Map<GroupId, Map<NodeId, number>>()
  private readonly caughtUp = new Map<GroupId, Map<NodeId, number>>()
  /** The latest time seen (ms, from the Clock): of a sample or of an inbound batch. */
  private now = 0

  constructor(
    readonly self: NodeId,
    /** How long a silent peer still counts as up: the election timeout. */
    readonly timeoutMs: number,
  ) {}

  private heardIn(group: GroupId): Map<NodeId, number> {
    let m = this.heard.get(group)
    if (m === undefined) {
      m = new Map()
      this.heard.set(group, m)
    }
    return m
  }

  /** Records inbound Raft messages received at `nowMs` (called by the supervisor's router). */
  received(messages: readonly Message[], nowMs: number): void {
    this.now = Math.max(this.now, nowMs)
    for (const m of messages) this.heardIn(m.group).set(m.from, nowMs)
  }

  /** Samples the replicas' published statuses at `nowMs` (every tick). */
  sample(nowMs: number, statuses: readonly RaftStatus[]): void {
    this.now = Math.max(this.now, nowMs)
    for (const st of statuses) {
      if (st.role !== "leader" || st.progress === null) {
        this.caughtUp.delete(st.group)
        continue
      }
      let m = this.caughtUp.get(st.group)
      if (m === undefined) {
        m = new Map()
        this.caughtUp.set(st.group, m)
      }
      for (const [id, p] of Object.entries(st.progress)) {
        if (id === this.self) continue
        if (p.match >= st.lastIndex || !m.has(id)) m.set(id, nowMs)
      }
      // A removed member has no progress any more: it lags nobody (status, lag metric).
      for (const id of m.keys()) if (st.progress[id] === undefined) m.delete(id)
    }
  }

  view(st: RaftStatus): GroupLiveness {
    const voters = st.conf.voters
    const heard = this.heard.get(st.group)
    const healthy = voters.filter((v) => {
      if (v === this.self) return true
      const at = heard?.get(v)
      return at !== undefined && this.now - at <= this.timeoutMs
    })
    const majority = Math.floor(voters.length / 2) + 1
    const quorum =
      st.role === "leader"
        ? healthy.length >= majority
        : st.leader !== null && healthy.includes(st.leader) && voters.length > 0
    let lagSeconds: Record<NodeId, number> | null = null
    const caught = this.caughtUp.get(st.group)
    if (st.role === "leader" && caught !== undefined) {
      lagSeconds = {}
      for (const [id, at] of caught) lagSeconds[id] = Math.max(0, (this.now - at) / 1000)
    }
    return { voters, healthy, quorum, lagSeconds }
  }
}
