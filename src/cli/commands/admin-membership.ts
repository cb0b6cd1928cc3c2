/**
 * `lattice admin add-node ID` and `lattice admin remove-node ID`.
 *
 * add-node: the node (started with `lattice start --join`) is added as a learner, catches up
 * (by snapshot when it is behind the compaction floor) and is promoted to voter by the leader once
 * caught up; the command shows the learner's progress until then (unless --no-wait).
 */
import { Clock, Duration, Effect } from "effect"
import { type Command, ExitCode } from "../framework/types.ts"
import { adminCall, ENDPOINTS_FLAG, endpointsOf, nodeIdArgument, parseSeconds } from "./admin-http.ts"
import { usageError } from "./report.ts"
import { fetchStatus } from "./status.ts"

const TIMEOUT_FLAG = {
  name: "timeout",
  type: "string",
  placeholder: "DURATION",
  description: "how long to wait for the node to catch up and become a voter (default 300s)",
} as const

/** What the leader says about `id`: voter, learner with its lag, or not a member. */
const standingOf = (endpoints: readonly string[], id: string) =>
  Effect.gen(function* () {
    const rows = yield* Effect.forEach(endpoints, fetchStatus, { concurrency: "unbounded" })
    const groups = rows
      .flatMap((r) => (r.report === null ? [] : [r.report.groups[0]]))
      .filter((g) => g !== undefined)
    const leader = groups.find((g) => g.followerLag !== null)
    const view = leader ?? groups[0]
    if (view === undefined) return { state: "unknown" as const, lag: null }
    const lag = leader?.followerLag?.[id] ?? null
    if (view.voters.includes(id)) return { state: "voter" as const, lag }
    if (view.learners.includes(id)) return { state: "learner" as const, lag }
    return { state: "none" as const, lag }
  })

export const addNodeCommand: Command = {
  name: "add-node",
  summary: "add a node: it joins as a learner and is promoted to voter once caught up",
  description:
    "Start the new node first with `lattice start --join` (its --members listing the cluster's\n" +
    "voters). add-node adds it as a learner; it catches up (by snapshot if it is far behind) and the\n" +
    "leader promotes it to voter automatically once its log is within reach of the leader's. The\n" +
    "command prints its progress until then. Several nodes may be added at once: they are promoted\n" +
    "one membership change at a time.",
  args: [{ name: "ID", description: "the new node's id (its node.id)" }],
  flags: [
    ENDPOINTS_FLAG,
    TIMEOUT_FLAG,
    { name: "no-wait", type: "boolean", description: "return once the learner is added" },
  ],
  examples: [
    "lattice start --join --node-id n4 --members n1,n2,n3 --nats nats://10.0.0.5:4222   # on the new server",
    "lattice admin add-node n4 --endpoints http://10.0.0.1:2378",
  ],
  run: (input, io) =>
    Effect.gen(function* () {
      const id = yield* nodeIdArgument(input, io, [
        "add-node",
        "the new node's id",
        "lattice admin add-node n4",
      ])
      if (typeof id === "number") return id
      const timeoutS = parseSeconds(input.string("timeout") ?? "300s")
      if (timeoutS === null)
        return yield* usageError(
          io,
          "lattice admin add-node",
          "--timeout must be a duration such as 300s or 5m",
        )
      const endpoints = endpointsOf(input, io.env)
      const answer = yield* adminCall(io, input, `add-node ${id}`, "/v1/admin/add-node", { node: id }, 30_000)
      if (answer === null) return ExitCode.failure
      const outcome = answer.outcome
      if (outcome === "already-voter") {
        io.stdout(`node ${id} is already a voter\n`)
        return ExitCode.ok
      }
      io.stdout(
        outcome === "added"
          ? `node ${id} added as a learner; it becomes a voter once caught up\n`
          : `node ${id} is already a learner; it becomes a voter once caught up\n`,
      )
      if (input.bool("no-wait")) return ExitCode.ok
      const deadline = (yield* Clock.currentTimeMillis) + timeoutS * 1000
      let lastLine = ""
      while ((yield* Clock.currentTimeMillis) < deadline) {
        const s = yield* standingOf(endpoints, id)
        if (s.state === "voter") {
          io.stdout(`node ${id} is a voter\n`)
          return ExitCode.ok
        }
        const line =
          s.state === "learner"
            ? s.lag === null
              ? `waiting: ${id} is a learner (pass the leader's endpoint in --endpoints to see its lag)`
              : `waiting: ${id} is a learner, ${s.lag} entries behind the leader`
            : s.state === "none"
              ? `waiting: ${id} is not a member (was it removed?)`
              : "waiting: no node answered"
        if (line !== lastLine) io.stdout(`${line}\n`)
        lastLine = line
        yield* Effect.sleep(Duration.millis(500))
      }
      io.stderr(
        `error: node ${id} is still not a voter after ${timeoutS}s: check that it runs (lattice start --join) and reaches NATS; the leader promotes it once it catches up\n`,
      )
      return ExitCode.unavailable
    }),
}

export const removeNodeCommand: Command = {
  name: "remove-node",
  summary: "remove a node from the cluster (the leader included)",
  description:
    "Removes the node from the Raft membership through the leader. Removing the leader is safe: it\n" +
    "keeps leading until the removal commits, then hands leadership to the most up-to-date voter.\n" +
    "The removed node stops taking part and says so in its log and status; stop it afterwards.",
  args: [{ name: "ID", description: "the node's id" }],
  flags: [ENDPOINTS_FLAG],
  examples: ["lattice admin remove-node n3 --endpoints http://10.0.0.1:2378"],
  run: (input, io) =>
    Effect.gen(function* () {
      const id = yield* nodeIdArgument(input, io, [
        "remove-node",
        "the node's id",
        "lattice admin remove-node n3",
      ])
      if (typeof id === "number") return id
      const answer = yield* adminCall(
        io,
        input,
        `remove-node ${id}`,
        "/v1/admin/remove-node",
        { node: id },
        30_000,
      )
      if (answer === null) return ExitCode.failure
      const conf = answer.conf as { voters?: string[]; learners?: string[] } | null
      io.stdout(
        `node ${id} removed; voters now: ${(conf?.voters ?? []).join(", ") || "?"}${
          (conf?.learners ?? []).length > 0 ? `; learners: ${conf?.learners?.join(", ")}` : ""
        }\n`,
      )
      return ExitCode.ok
    }),
}
