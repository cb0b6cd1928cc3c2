/**
 * `lattice status [--verbose] [--format table|json] [--endpoints URL,…]`: asks each node's HTTP
 * listener for `GET /v1/status` and prints nodes, roles, term, commit/applied index, lag and
 * health ("Healthy" / "Unhealthy" / "Unreachable": the runbooks grep for "Healthy").
 */
import { Effect } from "effect"
import type { NodeStatusReport } from "../../node/status-report.ts"
import { type Command, ExitCode } from "../framework/types.ts"
import { usageError } from "./report.ts"

export const DEFAULT_ENDPOINT = "http://127.0.0.1:2378"

export interface Row {
  readonly endpoint: string
  readonly report: NodeStatusReport | null
  readonly error: string | null
}

export const normalize = (endpoint: string): string =>
  (/^https?:\/\//.test(endpoint) ? endpoint : `http://${endpoint}`).replace(/\/+$/, "")

export const fetchStatus = (endpoint: string): Effect.Effect<Row> =>
  Effect.tryPromise(async () => {
    const res = await fetch(`${endpoint}/v1/status`, { signal: AbortSignal.timeout(3000) })
    if (!res.ok) throw new Error(`HTTP ${res.status}`)
    return (await res.json()) as NodeStatusReport
  }).pipe(
    Effect.match({
      onSuccess: (report): Row => ({ endpoint, report, error: null }),
      onFailure: (e): Row => ({ endpoint, report: null, error: String(e.error) }),
    }),
  )

const healthOf = (r: Row): string =>
  r.report === null ? "Unreachable" : r.report.healthy ? "Healthy" : "Unhealthy"

export const renderTable = (rows: readonly Row[], verbose: boolean): string => {
  const maxCommit = Math.max(0, ...rows.map((r) => r.report?.groups[0]?.commit ?? 0))
  const header = ["NODE", "ENDPOINT", "ROLE", "TERM", "LEADER", "COMMIT", "APPLIED", "LAG", "HEALTH"]
  const lines = rows.map((r) => {
    const g = r.report?.groups[0]
    if (r.report === null || g === undefined)
      return ["?", r.endpoint, "-", "-", "-", "-", "-", "-", healthOf(r)]
    return [
      r.report.node,
      r.endpoint,
      g.role,
      String(g.term),
      g.leader ?? "none",
      String(g.commit),
      String(g.applied),
      String(Math.max(0, maxCommit - g.applied)),
      healthOf(r),
    ]
  })
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)))
  const fmt = (cols: readonly string[]) =>
    cols
      .map((c, i) => c.padEnd(widths[i]!))
      .join("  ")
      .trimEnd()
  const out = [fmt(header), ...lines.map(fmt)]
  if (verbose) {
    for (const r of rows) {
      if (r.error !== null) out.push(`${r.endpoint}: ${r.error}`)
      if (r.report !== null)
        out.push(`${r.report.node}: lattice ${r.report.version ?? "unknown (older than 0.1.0)"}`)
      for (const g of r.report?.groups ?? []) {
        const lag = g.followerLag === null ? "" : ` follower lag ${JSON.stringify(g.followerLag)}`
        out.push(
          `${r.report!.node} group ${g.group}: ${g.health?.state ?? "unknown"}, last index ${g.lastIndex}, revision ${g.revision}${lag}`,
        )
      }
    }
  }
  return `${out.join("\n")}\n`
}

export const statusCommand: Command = {
  name: "status",
  summary: "show every node's role, term, commit/applied index, lag and health",
  flags: [
    { name: "verbose", short: "v", type: "boolean", description: "per-group details and follower lag" },
    { name: "format", type: "string", placeholder: "FORMAT", description: "table (default) or json" },
    {
      name: "endpoints",
      type: "string",
      placeholder: "URL[,URL…]",
      description: `the nodes' HTTP listeners (default ${DEFAULT_ENDPOINT})`,
    },
  ],
  examples: [
    "lattice status",
    "lattice status --verbose --endpoints http://10.0.0.1:2378,http://10.0.0.2:2378",
  ],
  run: (input, io) =>
    Effect.gen(function* () {
      const format = input.string("format") ?? "table"
      if (format !== "table" && format !== "json")
        return yield* usageError(io, "lattice status", `--format must be table or json, got "${format}"`)
      const endpoints = (input.string("endpoints") ?? DEFAULT_ENDPOINT)
        .split(",")
        .map((e) => e.trim())
        .filter((e) => e.length > 0)
        .map(normalize)
      const rows = yield* Effect.forEach(endpoints, fetchStatus, { concurrency: "unbounded" })
      if (format === "json") {
        io.stdout(
          `${JSON.stringify(
            rows.map((r) => ({
              endpoint: r.endpoint,
              health: healthOf(r),
              status: r.report,
              error: r.error,
            })),
            null,
            2,
          )}\n`,
        )
      } else {
        io.stdout(renderTable(rows, input.bool("verbose")))
      }
      return rows.every((r) => r.report?.healthy === true) ? ExitCode.ok : ExitCode.unavailable
    }),
}
