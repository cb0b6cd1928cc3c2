/** The JSON a node serves at `GET /v1/status`, and what `lattice status` prints. */
import type { GroupHealth } from "../../actors/node-supervisor.ts"
import { LATTICE_VERSION } from "../cli/version.ts"
import type { GroupLiveness } from "./liveness.ts"
import { KV_GROUP, type LatticeNode } from "./node.ts"

export interface GroupStatusReport {
  readonly group: number
  readonly health: GroupHealth | null
  readonly role: string
  readonly term: number
  readonly leader: string | null
  readonly commit: number
  readonly applied: number
  readonly lastIndex: number
  readonly revision: number
  /** Leader only: how far each follower's log is behind the leader's last index. */
  readonly followerLag: Readonly<Record<string, number>> | null
  /** The group's membership as this node knows it. */
  readonly voters: readonly string[]
  readonly learners: readonly string[]
  /** False once this node was removed from the group (or before a joining node is added). */
  readonly member: boolean
  /** Voters, those this node knows are up, quorum and (leader) followers' lag in seconds: liveness.ts. */
  readonly liveness: GroupLiveness | null
}

export interface NodeStatusReport {
  readonly node: string
  /** The lattice release this node runs (mixed during a rolling upgrade). */
  readonly version: string
  readonly healthy: boolean
  readonly groups: readonly GroupStatusReport[]
}

export const nodeStatus = (node: LatticeNode): NodeStatusReport => {
  const groups = node.supervisor.groups().map((g): GroupStatusReport => {
    const h = node.group(g)
    const health = node.supervisor.health(g) ?? null
    if (h === undefined) {
      return {
        group: g,
        health,
        role: "down",
        term: 0,
        leader: null,
        commit: 0,
        applied: 0,
        lastIndex: 0,
        revision: 0,
        followerLag: null,
        voters: [],
        learners: [],
        member: false,
        liveness: null,
      }
    }
    const st = h.view.status
    let followerLag: Record<string, number> | null = null
    if (st.progress !== null) {
      followerLag = {}
      for (const [id, p] of Object.entries(st.progress))
        if (id !== st.id) followerLag[id] = st.lastIndex - p.match
    }
    return {
      group: g,
      health,
      role: st.role,
      term: st.term,
      leader: st.leader,
      commit: st.commit,
      applied: h.sm.appliedIndex,
      lastIndex: st.lastIndex,
      revision: h.sm.revision,
      followerLag,
      voters: st.conf.voters,
      learners: st.conf.learners,
      member: st.conf.voters.includes(st.id) || st.conf.learners.includes(st.id),
      liveness: node.liveness.view(st),
    }
  })
  const kv = groups.find((g) => g.group === KV_GROUP)
  const healthy = kv !== undefined && kv.health?.state === "running" && kv.leader !== null && kv.member
  return { node: node.options.nodeId, version: LATTICE_VERSION, healthy, groups }
}
