/**
 * `lattice admin transfer-leadership <node>`, `force-election <node>`, `wait-ready` and
 * `cluster-status`: leadership and readiness across the cluster, over the nodes' HTTP listeners.
 */
import { Clock, Duration, Effect, Schema } from "effect"
import { ReadinessReport } from "../../../schemas/readiness.ts"
import type { NodeStatusReport } from "../../node/status-report.ts"
import { type Command, ExitCode } from "../framework/types.ts"
import {
  ENDPOINTS_FLAG,
  endpointsOf,
  formatOf,
  locateOrReport,
  nodeIdArgument,
  parseSeconds,
} from "./admin-http.ts"
import { FORMAT_FLAG, locateLeader, locateNode, NODE_ID_FLAG, requestJson } from "./admin-ops-http.ts"
import { usageError } from "./report.ts"

const decodeReadiness = Schema.decodeUnknownOption(ReadinessReport)

export const transferLeadershipCommand: Command = {
  name: "transfer-leadership",
  summary: "move leadership to another voter (the leader brings it up to date first)",
  args: [{ name: "NODE", description: "the voter to lead next" }],
  flags: [ENDPOINTS_FLAG],
  examples: [
    "lattice admin transfer-leadership n2",
    "lattice admin transfer-leadership n2 --endpoints http://10.0.0.1:2378,http://10.0.0.2:2378",
  ],
  run: (input, io) =>
    Effect.gen(function* () {
      const to = yield* nodeIdArgument(input, io, ["transfer-leadership", "the voter to lead next", "n2"])
      if (typeof to === "number") return to
      const endpoints = endpointsOf(input, io.env)
      const located = yield* locateNode(endpoints, undefined)
      if (!located.ok) {
        io.stderr(`error: ${located.error}\n`)
        return ExitCode.unavailable
      }
      const leader = locateLeader(located.rows)
      if (leader.id === to) {
        io.stdout(`${to} is already the leader\n`)
        return ExitCode.ok
      }
      if (leader.endpoint === null) {
        io.stderr(
          `error: ${leader.id === null ? "no leader is known" : `the leader ${leader.id} is not behind any endpoint`}; pass every node's HTTP listener with --endpoints\n`,
        )
        return ExitCode.unavailable
      }
      io.stdout(`transferring leadership from ${leader.id} to ${to}…\n`)
      const a = yield* requestJson(leader.endpoint, "POST", "/v1/admin/transfer-leadership", { to }, 60_000)
      if (!a.ok) {
        io.stderr(`error: ${a.error}\n`)
        return ExitCode.failure
      }
      io.stdout(`${to} is the leader (term ${String(a.body.term)})\n`)
      return ExitCode.ok
    }),
}

export const forceElectionCommand: Command = {
  name: "force-election",
  summary: "make a voter campaign now (it wins only if its log is up to date)",
  args: [{ name: "NODE", description: "the voter that campaigns" }],
  flags: [ENDPOINTS_FLAG],
  examples: ["lattice admin force-election n3 --endpoints http://10.0.0.3:2378"],
  run: (input, io) =>
    Effect.gen(function* () {
      const id = yield* nodeIdArgument(input, io, ["force-election", "the voter that should campaign", "n3"])
      if (typeof id === "number") return id
      const node = yield* locateOrReport(io, input, id)
      if (node === null) return ExitCode.unavailable
      io.stdout(`${id} campaigns…\n`)
      const a = yield* requestJson(node.endpoint, "POST", "/v1/admin/force-election", {}, 60_000)
      if (!a.ok) {
        io.stderr(`error: ${a.error}\n`)
        return ExitCode.failure
      }
      io.stdout(`${id} is the leader (term ${String(a.body.term)})\n`)
      return ExitCode.ok
    }),
}

const failingOf = (r: ReadinessReport): string[] =>
  Object.entries(r.conditions)
    .filter(([, ok]) => !ok)
    .map(([name]) => name)

export const waitReadyCommand: Command = {
  name: "wait-ready",
  summary: "wait until a node's /readyz answers 200; exit non-zero with the failing conditions",
  flags: [
    NODE_ID_FLAG,
    ENDPOINTS_FLAG,
    {
      name: "timeout",
      type: "string",
      placeholder: "DURATION",
      description: "how long to wait (default 60s)",
    },
    {
      name: "voter",
      type: "boolean",
      description: "also wait until the node is a voter (after a drain and restart)",
    },
  ],
  examples: ["lattice admin wait-ready --timeout 60s", "lattice admin wait-ready --node-id n2 --voter"],
  run: (input, io) =>
    Effect.gen(function* () {
      const timeoutS = parseSeconds(input.string("timeout") ?? "60s")
      if (timeoutS === null)
        return yield* usageError(
          io,
          "lattice admin wait-ready",
          "--timeout must be a duration such as 60s or 2m",
        )
      const endpoints = endpointsOf(input, io.env)
      const id = input.string("node-id")
      const deadline = (yield* Clock.currentTimeMillis) + timeoutS * 1000
      let last = ""
      let endpoint: string | null = null
      while (true) {
        let why: string
        if (endpoint === null) {
          const located = yield* locateNode(endpoints, id)
          if (located.ok) endpoint = located.node.endpoint
          why = located.ok ? "locating" : located.error
        }
        if (endpoint !== null) {
          const a = yield* requestJson(endpoint, "GET", "/readyz", undefined, 3000)
          const report = a.ok ? decodeReadiness(a.body) : null
          if (report !== null && report._tag === "Some") {
            const failing = failingOf(report.value)
            let voter = true
            if (input.bool("voter") && report.value.ready) {
              const st = yield* requestJson(endpoint, "GET", "/v1/status", undefined, 3000)
              const r = st.ok ? (st.body as unknown as NodeStatusReport) : null
              voter = r?.groups[0]?.voters.includes(r.node) ?? false
            }
            if (report.value.ready && voter) {
              io.stdout(`${id ?? endpoint} is ready\n`)
              return ExitCode.ok
            }
            why = report.value.ready
              ? "ready, not a voter yet (rejoining after a drain)"
              : failing.length === 0
                ? "draining"
                : `failing: ${failing.join(", ")}`
          } else {
            why = a.ok ? "unexpected /readyz answer" : a.error
          }
        } else why = "not reachable yet"
        if (why !== last) {
          io.stdout(`waiting for ${id ?? endpoint ?? endpoints[0]}: ${why}\n`)
          last = why
        }
        if ((yield* Clock.currentTimeMillis) >= deadline) {
          const verbose =
            endpoint === null
              ? null
              : yield* Effect.promise(() =>
                  fetch(`${endpoint}/readyz?verbose`, { signal: AbortSignal.timeout(3000) })
                    .then((r) => r.text())
                    .catch(() => null),
                )
          io.stderr(`error: not ready after ${timeoutS} s: ${why}\n${verbose ?? ""}`)
          return ExitCode.unavailable
        }
        yield* Effect.sleep(Duration.millis(250))
      }
    }),
}

export interface ClusterStatusRow {
  readonly endpoint: string
  readonly node: string | null
  readonly version: string | null
  readonly role: string | null
  readonly membership: "voter" | "learner" | "none" | null
  readonly term: number | null
  readonly leader: string | null
  readonly commit: number | null
  readonly applied: number | null
  readonly last_index: number | null
  /** Entries behind the leader's last index (as the leader sees it). */
  readonly lag_entries: number | null
  /** Seconds since the follower's log last matched the leader's (lattice_replication_lag_seconds). */
  readonly lag_seconds: number | null
  readonly ready: boolean | null
  readonly failing: readonly string[]
  readonly drain: string | null
  readonly error: string | null
}

export interface ClusterStatus {
  readonly leader: string | null
  readonly voters: readonly string[]
  readonly learners: readonly string[]
  readonly quorum: boolean
  readonly nodes: readonly ClusterStatusRow[]
}

/** `lattice_replication_lag_seconds{…follower="n2"…} 0.01` from the leader's /metrics. */
const lagSecondsOf = (metrics: string): Record<string, number> => {
  const out: Record<string, number> = {}
  for (const m of metrics.matchAll(/^lattice_replication_lag_seconds\{([^}]*)\} (\S+)$/gm)) {
    const follower = /follower="([^"]*)"/.exec(m[1]!)?.[1]
    if (follower !== undefined) out[follower] = Number(m[2])
  }
  return out
}

export const collectClusterStatus = (endpoints: readonly string[]): Effect.Effect<ClusterStatus> =>
  Effect.gen(function* () {
    const per = yield* Effect.forEach(
      endpoints,
      (endpoint) =>
        Effect.all({
          endpoint: Effect.succeed(endpoint),
          status: requestJson(endpoint, "GET", "/v1/status", undefined, 3000),
          ready: requestJson(endpoint, "GET", "/readyz", undefined, 3000),
          drain: requestJson(endpoint, "GET", "/v1/admin/drain", undefined, 3000),
        }),
      { concurrency: "unbounded" },
    )
    const reports = per.map((p) => (p.status.ok ? (p.status.body as unknown as NodeStatusReport) : null))
    const leaderId = (() => {
      const ls = new Set(reports.flatMap((r) => (r?.groups[0]?.leader ? [r.groups[0].leader] : [])))
      return ls.size === 1 ? [...ls][0]! : null
    })()
    const leaderIdx = reports.findIndex((r) => r?.node === leaderId)
    const leaderGroup = leaderIdx >= 0 ? reports[leaderIdx]!.groups[0] : undefined
    const confSource = leaderGroup ?? reports.find((r) => r !== null)?.groups[0]
    const voters = confSource?.voters ?? []
    const learners = confSource?.learners ?? []
    const lagSeconds =
      leaderIdx >= 0
        ? lagSecondsOf(
            yield* Effect.promise(() =>
              fetch(`${per[leaderIdx]!.endpoint}/metrics`, { signal: AbortSignal.timeout(3000) })
                .then((r) => r.text())
                .catch(() => ""),
            ),
          )
        : {}
    const nodes = per.map((p, i): ClusterStatusRow => {
      const r = reports[i]
      const g = r?.groups[0]
      const ready = p.ready.ok ? decodeReadiness(p.ready.body) : null
      const drainState = p.drain.ok ? String(p.drain.body.state ?? "") : null
      const id = r?.node ?? null
      return {
        endpoint: p.endpoint,
        node: id,
        version: r?.version ?? null,
        role: g?.role ?? null,
        membership:
          id === null ? null : voters.includes(id) ? "voter" : learners.includes(id) ? "learner" : "none",
        term: g?.term ?? null,
        leader: g?.leader ?? null,
        commit: g?.commit ?? null,
        applied: g?.applied ?? null,
        last_index: g?.lastIndex ?? null,
        lag_entries: id === null ? null : id === leaderId ? 0 : (leaderGroup?.followerLag?.[id] ?? null),
        lag_seconds: id === null ? null : id === leaderId ? 0 : (lagSeconds[id] ?? null),
        ready: ready !== null && ready._tag === "Some" ? ready.value.ready : null,
        failing: ready !== null && ready._tag === "Some" ? failingOf(ready.value) : [],
        drain: drainState,
        error: p.status.ok ? null : p.status.error,
      }
    })
    // A quorum of the configured voters answers and follows one leader.
    const healthyVoters = nodes.filter(
      (n) => n.node !== null && voters.includes(n.node) && n.leader === leaderId && leaderId !== null,
    ).length
    return {
      leader: leaderId,
      voters,
      learners,
      quorum: leaderId !== null && healthyVoters >= Math.floor(voters.length / 2) + 1,
      nodes,
    }
  })

const cell = (v: unknown): string => (v === null || v === undefined ? "-" : String(v))

export const renderClusterStatus = (s: ClusterStatus): string => {
  const header = [
    "NODE",
    "ROLE",
    "MEMBER",
    "TERM",
    "COMMIT",
    "APPLIED",
    "LAST",
    "LAG",
    "LAG(s)",
    "READY",
    "DRAIN",
    "VERSION",
    "ENDPOINT",
  ]
  const rows = s.nodes.map((n) => [
    cell(n.node),
    n.error === null ? cell(n.role) : "unreachable",
    cell(n.membership),
    cell(n.term),
    cell(n.commit),
    cell(n.applied),
    cell(n.last_index),
    cell(n.lag_entries),
    n.lag_seconds === null ? "-" : n.lag_seconds.toFixed(2),
    n.ready === null ? "-" : n.ready ? "yes" : `no (${n.failing.join(",") || "draining"})`,
    cell(n.drain),
    cell(n.version),
    n.endpoint,
  ])
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
  const fmt = (cols: readonly string[]) =>
    cols
      .map((c, i) => c.padEnd(widths[i]!))
      .join("  ")
      .trimEnd()
  const quorum = s.quorum ? "Quorum: ok" : "Quorum: LOST"
  const summary = `${quorum} (leader ${s.leader ?? "none"}; voters ${s.voters.join(",") || "-"}; learners ${s.learners.join(",") || "-"})`
  const errors = s.nodes.filter((n) => n.error !== null).map((n) => `${n.endpoint}: ${n.error}`)
  return `${[fmt(header), ...rows.map(fmt), summary, ...errors].join("\n")}\n`
}

export const clusterStatusCommand: Command = {
  name: "cluster-status",
  summary: "every node's role, membership, term, indexes, lag, readiness, drain state and version",
  description:
    "Exits 0 when every endpoint answers, a quorum of voters follows one leader and every node is\n" +
    "ready; 69 otherwise. LAG is in entries behind the leader's log, LAG(s) is the leader's\n" +
    "lattice_replication_lag_seconds for that follower.",
  flags: [
    ENDPOINTS_FLAG,
    FORMAT_FLAG,
    {
      name: "max-lag-seconds",
      type: "string",
      placeholder: "SECONDS",
      description: "also exit 69 when a follower's replication lag reaches this (rolling restarts use 1)",
    },
  ],
  examples: [
    "lattice admin cluster-status --max-lag-seconds 1",
    "lattice admin cluster-status --endpoints http://10.0.0.1:2378,http://10.0.0.2:2378,http://10.0.0.3:2378",
    "lattice admin cluster-status --format json",
  ],
  run: (input, io) =>
    Effect.gen(function* () {
      const format = yield* formatOf(input, io, "lattice admin cluster-status")
      if (typeof format === "number") return format
      const maxLagText = input.string("max-lag-seconds")
      const maxLag = maxLagText === undefined ? null : Number(maxLagText)
      if (maxLag !== null && !(Number.isFinite(maxLag) && maxLag > 0))
        return yield* usageError(
          io,
          "lattice admin cluster-status",
          `--max-lag-seconds must be a positive number of seconds, got "${maxLagText}"`,
        )
      const s = yield* collectClusterStatus(endpointsOf(input, io.env))
      io.stdout(format === "json" ? `${JSON.stringify(s, null, 2)}\n` : renderClusterStatus(s))
      const lagging =
        maxLag === null ? [] : s.nodes.filter((n) => n.lag_seconds !== null && n.lag_seconds >= maxLag)
      if (lagging.length > 0 && format !== "json")
        io.stdout(
          `Lag: ${lagging.map((n) => `${n.node} ${n.lag_seconds!.toFixed(2)}s`).join(", ")} (>= ${maxLag}s)\n`,
        )
      const healthy =
        s.quorum && lagging.length === 0 && s.nodes.every((n) => n.error === null && n.ready === true)
      return healthy ? ExitCode.ok : ExitCode.unavailable
    }),
}
