/**
 * What `lattice status` concludes from the nodes' `/v1/status` (and `/readyz`) answers: one line
 * per voter (✅/❌, role, term, indexes, lag, readiness), whether a quorum holds, and a verdict.
 *
 * The wording is an interface: the runbooks' scripts grep it.
 *  - "Healthy" appears only when a quorum holds and every voter is up (and ready where known);
 *    otherwise the verdict is "Degraded" or "Unavailable" (the health-check script alerts).
 *  - "Quorum" (capitalised) appears only while a quorum holds; without one the line reads
 *    "No quorum" (the rolling-restart script aborts).
 * Voters that were not queried are judged by what the leader hears (liveness.ts).
 */
import type { GroupStatusReport, NodeStatusReport } from "../../node/status-report.ts"

/** The KV group (src/node/node.ts), whose voters are the cluster's nodes. */
const KV_GROUP = 1

export interface EndpointAnswer {
  readonly endpoint: string
  readonly report: NodeStatusReport | null
  readonly error: string | null
  /** `/readyz`: true/false, or null when the node does not serve it or was unreachable. */
  readonly ready: boolean | null
}

export interface NodeLine {
  readonly node: string
  readonly up: boolean
  readonly role: string
  readonly endpoint: string | null
  readonly term: number | null
  readonly commit: number | null
  readonly applied: number | null
  /** Seconds behind the leader (leader's view), when known. */
  readonly lagSeconds: number | null
  readonly ready: boolean | null
  /** Why the node is not up, or how it was judged. */
  readonly note: string
}

export type Verdict = "Healthy" | "Degraded" | "Unavailable"

export interface ClusterSummary {
  readonly verdict: Verdict
  readonly leader: string | null
  readonly term: number
  readonly quorum: boolean
  readonly votersUp: number
  readonly voters: number
  readonly needed: number
  readonly nodes: readonly NodeLine[]
  readonly unreachable: readonly EndpointAnswer[]
}

const kvGroup = (r: NodeStatusReport | null): GroupStatusReport | undefined =>
  r?.groups.find((g) => g.group === KV_GROUP)

export const summarize = (answers: readonly EndpointAnswer[]): ClusterSummary => {
  const reached = answers.filter((a) => a.report !== null)
  const groups = reached.map((a) => ({ a, g: kvGroup(a.report) }))
  const leaderAnswer = groups.find(({ g }) => g?.role === "leader")
  const leaderGroup = leaderAnswer?.g
  const leader =
    leaderAnswer?.a.report?.node ?? groups.map(({ g }) => g?.leader ?? null).find((l) => l !== null) ?? null
  const term = Math.max(0, ...groups.map(({ g }) => g?.term ?? 0))
  // The voters: as the leader knows them, else as any reachable node does, else the endpoints.
  const votersFrom = leaderGroup?.liveness ?? groups.find(({ g }) => g?.liveness != null)?.g?.liveness
  const voters = votersFrom?.voters ?? reached.map((a) => a.report!.node)
  const byNode = new Map(reached.map((a) => [a.report!.node, a]))
  const lagOf = (id: string): number | null => leaderGroup?.liveness?.lagSeconds?.[id] ?? null
  const nodes: NodeLine[] = voters.map((id) => {
    const a = byNode.get(id)
    const g = kvGroup(a?.report ?? null)
    if (a !== undefined && g !== undefined) {
      const running = g.health?.state === "running" || g.health === null
      const up = a.report!.healthy && running
      const note = up
        ? ""
        : !running
          ? `group ${g.group} ${g.health?.state ?? "down"}${g.health !== null && "reason" in g.health ? `: ${g.health.reason}` : ""}`
          : "no leader known"
      return {
        node: id,
        up,
        role: g.role,
        endpoint: a.endpoint,
        term: g.term,
        commit: g.commit,
        applied: g.applied,
        lagSeconds: g.role === "leader" ? null : lagOf(id),
        ready: a.ready,
        note,
      }
    }
    const heardByLeader = leaderGroup?.liveness?.healthy.includes(id) ?? false
    return {
      node: id,
      up: heardByLeader,
      role: heardByLeader ? "follower" : "down",
      endpoint: null,
      term: null,
      commit: null,
      applied: null,
      lagSeconds: lagOf(id),
      ready: null,
      note: heardByLeader
        ? `not queried; the leader ${leader} hears from it`
        : leaderGroup === undefined
          ? "not queried, and no leader reachable to vouch for it"
          : `the leader ${leader} has not heard from it within the election timeout`,
    }
  })
  const needed = Math.floor(voters.length / 2) + 1
  const votersUp = nodes.filter((n) => n.up).length
  const quorum = groups.some(({ g }) => g?.liveness?.quorum === true) && votersUp >= needed
  const unreachable = answers.filter((a) => a.report === null)
  const allReady = nodes.every((n) => n.ready !== false)
  const verdict: Verdict = !quorum
    ? "Unavailable"
    : votersUp === voters.length && unreachable.length === 0 && allReady
      ? "Healthy"
      : "Degraded"
  return { verdict, leader, term, quorum, votersUp, voters: voters.length, needed, nodes, unreachable }
}

const mark = (ok: boolean): string => (ok ? "✅" : "❌")
const cap = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1)

export const renderSummary = (s: ClusterSummary, verbose: boolean): string => {
  const lines: string[] = []
  if (s.voters === 0) {
    lines.push("Cluster: Unavailable (no node answered)", "No quorum: ❌ no node answered")
    for (const u of s.unreachable)
      lines.push(`Endpoint ${u.endpoint}: ❌ unreachable (${u.error ?? "no answer"})`)
    return `${lines.join("\n")}\n`
  }
  const leaderText = s.leader === null ? "no leader" : `leader ${s.leader}`
  lines.push(`Cluster: ${s.verdict} (${s.votersUp}/${s.voters} nodes up, ${leaderText}, term ${s.term})`)
  lines.push(
    s.quorum
      ? `Quorum: ✅ ${s.votersUp}/${s.voters} voters up, ${s.needed} needed`
      : `No quorum: ❌ ${s.votersUp}/${s.voters} voters up, ${s.needed} needed (writes and linearizable reads fail)`,
  )
  const width = Math.max(...s.nodes.map((n) => n.node.length + 6))
  for (const n of s.nodes) {
    const role = n.up ? cap(n.role) : n.role === "down" || n.endpoint === null ? "Down" : cap(n.role)
    const parts = [`${`Node ${n.node}:`.padEnd(width)} ${mark(n.up)} ${role.padEnd(9)}`]
    if (n.term !== null) parts.push(`term ${n.term}`, `commit ${n.commit}`, `applied ${n.applied}`)
    if (n.lagSeconds !== null) parts.push(`lag ${n.lagSeconds.toFixed(1)} s`)
    if (n.ready !== null) parts.push(`ready ${mark(n.ready)}`)
    if (n.endpoint !== null) parts.push(n.endpoint)
    if (n.note !== "") parts.push(`(${n.note})`)
    lines.push(parts.join("  "))
  }
  for (const u of s.unreachable)
    lines.push(`Endpoint ${u.endpoint}: ❌ unreachable (${u.error ?? "no answer"})`)
  if (verbose) lines.push("")
  return `${lines.join("\n")}\n`
}

/** Per-group details for --verbose. */
export const renderGroups = (answers: readonly EndpointAnswer[]): string => {
  const out: string[] = []
  for (const a of answers) {
    if (a.report !== null)
      out.push(`${a.report.node}: lattice ${a.report.version ?? "unknown (older than 0.1.0)"}`)
    for (const g of a.report?.groups ?? []) {
      const lag = g.followerLag === null ? "" : `, follower lag (entries) ${JSON.stringify(g.followerLag)}`
      const secs =
        g.liveness?.lagSeconds == null
          ? ""
          : `, follower lag (s) ${JSON.stringify(Object.fromEntries(Object.entries(g.liveness.lagSeconds).map(([k, v]) => [k, Number(v.toFixed(3))])))}`
      out.push(
        `${a.report!.node} group ${g.group}: ${g.health?.state ?? "unknown"}, ${g.role}, leader ${g.leader ?? "none"}, last index ${g.lastIndex}, revision ${g.revision}${lag}${secs}`,
      )
    }
  }
  return out.length === 0 ? "" : `${out.join("\n")}\n`
}
