/**
 * `lattice status [NODE] [--verbose] [--format text|json] [--endpoints URL,…]`: asks each node's
 * HTTP listener for `GET /v1/status` and `/readyz`, and prints the cluster's verdict, its quorum
 * and one ✅/❌ line per node (status-summary.ts; the runbooks grep for "Healthy" and "Quorum").
 */
import { Effect } from "effect"
import type { NodeStatusReport } from "../../node/status-report.ts"
import { type Command, ExitCode } from "../framework/types.ts"
import { usageError } from "./report.ts"
import { type EndpointAnswer, renderGroups, renderSummary, summarize } from "./status-summary.ts"

export const DEFAULT_ENDPOINT = "http://127.0.0.1:2378"

/** What each endpoint answered (admin commands reuse it). */
export type Row = EndpointAnswer

export const normalize = (endpoint: string): string =>
  (/^https?:\/\//.test(endpoint) ? endpoint : `http://${endpoint}`).replace(/\/+$/, "")

/** `/readyz`: 200 ready, 503 not ready; anything else (404 on an older node, no answer) unknown. */
const fetchReady = async (endpoint: string): Promise<boolean | null> => {
  try {
    const res = await fetch(`${endpoint}/readyz`, { signal: AbortSignal.timeout(3000) })
    await res.arrayBuffer()
    return res.status === 200 ? true : res.status === 503 ? false : null
  } catch {
    return null
  }
}

export const fetchStatus = (endpoint: string): Effect.Effect<EndpointAnswer> =>
  Effect.tryPromise(async () => {
    const [res, ready] = await Promise.all([
      fetch(`${endpoint}/v1/status`, { signal: AbortSignal.timeout(3000) }),
      fetchReady(endpoint),
    ])
    if (!res.ok) throw new Error(`HTTP ${res.status}`)
    return { report: (await res.json()) as NodeStatusReport, ready }
  }).pipe(
    Effect.match({
      onSuccess: ({ report, ready }): EndpointAnswer => ({ endpoint, report, error: null, ready }),
      onFailure: (e): EndpointAnswer => ({
        endpoint,
        report: null,
        error: e.error instanceof Error ? e.error.message : String(e.error),
        ready: null,
      }),
    }),
  )

export const statusCommand: Command = {
  name: "status",
  summary: "show the cluster's health, quorum and every node (✅/❌, role, term, indexes, lag, readiness)",
  description:
    "Asks every endpoint for GET /v1/status and /readyz. Voters that were not queried are judged by\n" +
    "what the leader hears. The first line says Healthy (quorum, every voter up and ready), Degraded\n" +
    '(quorum, some voter down) or Unavailable (no quorum); a "Quorum: ✅" line appears only while a\n' +
    "quorum holds. Exit status 0 only when Healthy (69 otherwise). With NODE, only that node's line,\n" +
    "and the exit status says whether that node is up.",
  args: [{ name: "NODE", description: "show only this node (its --node-id)", optional: true }],
  flags: [
    { name: "verbose", short: "v", type: "boolean", description: "per-group details and follower lag" },
    { name: "format", type: "string", placeholder: "FORMAT", description: "text (default) or json" },
    {
      name: "endpoints",
      type: "string",
      placeholder: "URL[,URL…]",
      description: `the nodes' HTTP listeners (default $LATTICE_ENDPOINTS, else ${DEFAULT_ENDPOINT})`,
    },
  ],
  examples: [
    "lattice status",
    "lattice status --endpoints http://10.0.1.11:2378,http://10.0.1.12:2378,http://10.0.1.13:2378",
    "lattice status n2 --verbose",
    "lattice status | grep -q Healthy && echo ok",
  ],
  run: (input, io) =>
    Effect.gen(function* () {
      const format = input.string("format") ?? "text"
      if (format !== "text" && format !== "table" && format !== "json")
        return yield* usageError(io, "lattice status", `--format must be text or json, got "${format}"`)
      const endpoints = (input.string("endpoints") ?? io.env.LATTICE_ENDPOINTS ?? DEFAULT_ENDPOINT)
        .split(",")
        .map((e) => e.trim())
        .filter((e) => e.length > 0)
        .map(normalize)
      if (endpoints.length === 0)
        return yield* usageError(io, "lattice status", "--endpoints is empty; give at least one URL")
      const answers = yield* Effect.forEach(endpoints, fetchStatus, { concurrency: "unbounded" })
      const summary = summarize(answers)
      const only = input.args[0]
      if (only !== undefined) {
        const line = summary.nodes.find((n) => n.node === only)
        if (line === undefined) {
          io.stderr(
            `lattice status: no node "${only}" among the voters (${summary.nodes.map((n) => n.node).join(", ") || "none reachable"}); check the id or --endpoints\n`,
          )
          return ExitCode.unavailable
        }
        const one = { ...summary, nodes: [line], unreachable: [] }
        if (format === "json") io.stdout(`${JSON.stringify(one, null, 2)}\n`)
        else {
          io.stdout(renderSummary(one, false).split("\n").slice(2).join("\n"))
          if (input.bool("verbose")) io.stdout(renderGroups(answers.filter((a) => a.report?.node === only)))
        }
        return line.up ? ExitCode.ok : ExitCode.unavailable
      }
      if (format === "json") {
        io.stdout(
          `${JSON.stringify({ ...summary, endpoints: answers.map((a) => ({ endpoint: a.endpoint, ready: a.ready, error: a.error, status: a.report })) }, null, 2)}\n`,
        )
      } else {
        io.stdout(renderSummary(summary, input.bool("verbose")))
        if (input.bool("verbose")) io.stdout(renderGroups(answers))
      }
      return summary.verdict === "Healthy" ? ExitCode.ok : ExitCode.unavailable
    }),
}
