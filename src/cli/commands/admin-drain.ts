/**
 * `lattice admin drain [--node-id ID] [--cancel]`, `lattice admin drain-status` and
 * `lattice admin shutdown [--graceful]`: the drain workflow (actors/drain.ts) through the node's
 * admin API, with one progress line per step.
 */
import { Clock, Duration, Effect, Schema } from "effect"
import { DrainStatus } from "../../../schemas/readiness.ts"
import { type CliIO, type Command, ExitCode, type ParsedInput } from "../framework/types.ts"
import { ENDPOINTS_FLAG, formatOf, locateOrReport, parseSeconds } from "./admin-http.ts"
import { FORMAT_FLAG, NODE_ID_FLAG, requestJson } from "./admin-ops-http.ts"
import { usageError } from "./report.ts"

const decodeStatus = Schema.decodeUnknownOption(DrainStatus)

const fmtSeconds = (s: number | null): string => (s === null ? "-" : `${s.toFixed(1)}s`)

/** One line per step that has started: `[3/7] wait_inflight  done  0.0s  0 in-flight request(s) finished`. */
const stepLine = (status: DrainStatus, index: number): string => {
  const s = status.steps[index]!
  return `[${index + 1}/${status.steps.length}] ${s.name.padEnd(19)} ${s.status.padEnd(9)} ${fmtSeconds(s.duration_seconds).padStart(6)}  ${s.detail}`.trimEnd()
}

export const renderDrainStatus = (s: DrainStatus): string => {
  const lines = [
    `node:          ${s.node}`,
    `state:         ${s.state}`,
    `step:          ${s.step ?? "-"}`,
    `time in step:  ${fmtSeconds(s.time_in_step_seconds)}`,
    `in-flight:     ${s.inflight_requests}`,
    `watches:       ${s.watches}`,
    `duration:      ${fmtSeconds(s.duration_seconds)}`,
  ]
  if (s.error !== null) lines.push(`error:         ${s.error}`)
  if (s.state !== "idle") {
    lines.push("steps:")
    s.steps.forEach((step, i) => {
      if (step.status !== "pending") lines.push(`  ${stepLine(s, i)}`)
    })
  }
  return `${lines.join("\n")}\n`
}

const getStatus = (endpoint: string) =>
  Effect.map(requestJson(endpoint, "GET", "/v1/admin/drain", undefined, 5000), (a) => {
    if (!a.ok) return { ok: false as const, error: a.error }
    const s = decodeStatus(a.body)
    return s._tag === "Some"
      ? { ok: true as const, status: s.value }
      : { ok: false as const, error: `${endpoint} answered an unexpected drain status` }
  })

/** Polls the drain until it ends, printing each step as it finishes; returns the last status. */
const follow = (io: CliIO, endpoint: string, timeoutS: number) =>
  Effect.gen(function* () {
    let printed = 0
    const deadline = (yield* Clock.currentTimeMillis) + timeoutS * 1000
    while (true) {
      const got = yield* getStatus(endpoint)
      if (!got.ok) return { ok: false as const, error: got.error }
      const s = got.status
      while (printed < s.steps.length && !["pending", "running"].includes(s.steps[printed]!.status)) {
        io.stdout(`${stepLine(s, printed)}\n`)
        printed++
      }
      if (s.state !== "running") return { ok: true as const, status: s }
      if ((yield* Clock.currentTimeMillis) > deadline)
        return {
          ok: false as const,
          error: `the drain is still at ${s.step} after ${timeoutS} s; see lattice admin drain-status`,
        }
      yield* Effect.sleep(Duration.millis(200))
    }
  })

const timeoutOf = (input: ParsedInput, fallback: string): number | null =>
  parseSeconds(input.string("timeout") ?? fallback)

export const drainCommand: Command = {
  name: "drain",
  summary: "drain a node: fail readiness, stop new requests, hand over leadership, become an observer",
  description:
    "Runs the drain workflow on the node and prints each step as it completes:\n" +
    "  1 mark_draining        /readyz answers 503 at once\n" +
    "  2 stop_accepting       new client requests get UNAVAILABLE (retry against another endpoint)\n" +
    "  3 wait_inflight        requests in flight finish, up to [admin] drain_timeout_seconds\n" +
    "  4 cancel_watches       every watch ends with a reason; clients resume elsewhere\n" +
    "  5 transfer_leadership  a leader hands over to its most up-to-date voter\n" +
    "                         (up to [admin] leadership_transfer_timeout_seconds)\n" +
    "  6 become_observer      the node is demoted to a learner: it keeps the log, does not vote\n" +
    "  7 drained              stop it with lattice admin shutdown --graceful\n" +
    "A restarted drained node rejoins as a voter once caught up. --cancel undoes a drain.",
  flags: [
    NODE_ID_FLAG,
    ENDPOINTS_FLAG,
    { name: "cancel", type: "boolean", description: "cancel the node's drain: it serves again (as a voter)" },
    { name: "no-wait", type: "boolean", description: "start the drain and return at once" },
    {
      name: "timeout",
      type: "string",
      placeholder: "DURATION",
      description: "how long to follow the drain (default 120s)",
    },
  ],
  examples: [
    "lattice admin drain --node-id n1",
    "lattice admin drain --node-id n1 --endpoints http://10.0.0.1:2378,http://10.0.0.2:2378",
    "lattice admin drain --node-id n1 --cancel",
  ],
  run: (input, io) =>
    Effect.gen(function* () {
      const timeoutS = timeoutOf(input, "120s")
      if (timeoutS === null)
        return yield* usageError(io, "lattice admin drain", "--timeout must be a duration such as 120s or 2m")
      const located = yield* locateOrReport(io, input, input.string("node-id"))
      if (located === null) return ExitCode.unavailable
      const { endpoint, report } = located
      if (input.bool("cancel")) {
        const a = yield* requestJson(endpoint, "POST", "/v1/admin/drain/cancel", {}, 30_000)
        if (!a.ok) {
          io.stderr(`error: cancel drain of ${report.node}: ${a.error}\n`)
          return ExitCode.failure
        }
        const s = decodeStatus(a.body)
        io.stdout(
          `drain of ${report.node} cancelled${s._tag === "Some" && s.value.error !== null ? `: ${s.value.error}` : "; it serves again"}\n`,
        )
        return s._tag === "Some" && s.value.error !== null ? ExitCode.failure : ExitCode.ok
      }
      const a = yield* requestJson(endpoint, "POST", "/v1/admin/drain", {}, 10_000)
      if (!a.ok) {
        io.stderr(`error: drain ${report.node}: ${a.error}\n`)
        return ExitCode.failure
      }
      io.stdout(`draining ${report.node} (${endpoint})\n`)
      if (input.bool("no-wait")) return ExitCode.ok
      const end = yield* follow(io, endpoint, timeoutS)
      if (!end.ok) {
        io.stderr(`error: ${end.error}\n`)
        return ExitCode.failure
      }
      if (end.status.state === "drained") {
        io.stdout(
          `${report.node} drained in ${fmtSeconds(end.status.duration_seconds)}; stop it with: lattice admin shutdown --graceful --node-id ${report.node}\n`,
        )
        return ExitCode.ok
      }
      io.stderr(
        `error: drain of ${report.node} ${end.status.state}: ${end.status.error ?? "see lattice admin drain-status"}\n`,
      )
      return ExitCode.failure
    }),
}

export const drainStatusCommand: Command = {
  name: "drain-status",
  summary: "show a node's drain: step, time in step, in-flight requests, watches",
  flags: [NODE_ID_FLAG, ENDPOINTS_FLAG, FORMAT_FLAG],
  examples: ["lattice admin drain-status", "lattice admin drain-status --node-id n1 --format json"],
  run: (input, io) =>
    Effect.gen(function* () {
      const format = yield* formatOf(input, io, "lattice admin drain-status")
      if (typeof format === "number") return format
      const located = yield* locateOrReport(io, input, input.string("node-id"))
      if (located === null) return ExitCode.unavailable
      const got = yield* getStatus(located.endpoint)
      if (!got.ok) {
        io.stderr(`error: ${got.error}\n`)
        return ExitCode.unavailable
      }
      io.stdout(
        format === "json" ? `${JSON.stringify(got.status, null, 2)}\n` : renderDrainStatus(got.status),
      )
      return ExitCode.ok
    }),
}

export const shutdownCommand: Command = {
  name: "shutdown",
  summary: "stop a node; --graceful drains it first (if not drained) and waits for it to exit",
  description:
    "With --graceful the node runs the drain workflow first (unless it is drained already), then\n" +
    "exits within [admin] shutdown_grace_period_seconds. Without it the node exits at once (its\n" +
    "acknowledged writes are safe: they are on a quorum's disks). The command waits until the\n" +
    "node's endpoint stops answering.",
  flags: [
    NODE_ID_FLAG,
    ENDPOINTS_FLAG,
    { name: "graceful", type: "boolean", description: "drain first, then exit within the grace period" },
    {
      name: "timeout",
      type: "string",
      placeholder: "DURATION",
      description: "how long to wait for the node to exit (default 120s)",
    },
  ],
  examples: ["lattice admin shutdown --graceful --node-id n1"],
  run: (input, io) =>
    Effect.gen(function* () {
      const timeoutS = timeoutOf(input, "120s")
      if (timeoutS === null)
        return yield* usageError(
          io,
          "lattice admin shutdown",
          "--timeout must be a duration such as 120s or 2m",
        )
      const located = yield* locateOrReport(io, input, input.string("node-id"))
      if (located === null) return ExitCode.unavailable
      const { endpoint, report } = located
      const graceful = input.bool("graceful")
      const a = yield* requestJson(endpoint, "POST", `/v1/admin/shutdown?graceful=${graceful}`, {}, 10_000)
      if (!a.ok) {
        io.stderr(`error: shutdown ${report.node}: ${a.error}\n`)
        return ExitCode.failure
      }
      io.stdout(`shutting down ${report.node} (${graceful ? "graceful" : "immediate"})\n`)
      if (graceful && a.body.drain === "running") {
        const end = yield* follow(io, endpoint, timeoutS)
        if (end.ok && end.status.state !== "drained")
          io.stderr(
            `warning: the drain ${end.status.state} (${end.status.error ?? ""}); the node exits anyway\n`,
          )
      }
      const deadline = (yield* Clock.currentTimeMillis) + timeoutS * 1000
      while ((yield* Clock.currentTimeMillis) < deadline) {
        const alive = yield* requestJson(endpoint, "GET", "/v1/status", undefined, 1000)
        if (!alive.ok && alive.status === 0) {
          io.stdout(`${report.node} stopped\n`)
          return ExitCode.ok
        }
        yield* Effect.sleep(Duration.millis(100))
      }
      io.stderr(`error: ${report.node} still answers at ${endpoint} after ${timeoutS} s\n`)
      return ExitCode.failure
    }),
}
