/** `lattice admin snapshot NODE` and `lattice admin compact-log NODE KEEP` (operations manual). */
import { Effect } from "effect"
import { type CliIO, type Command, ExitCode } from "../framework/types.ts"
import { adminCall, ENDPOINTS_FLAG, nodeIdArgument } from "./admin-http.ts"
import { usageError } from "./report.ts"

const printReport = (io: CliIO, verb: string, body: Record<string, unknown>): void => {
  io.stdout(
    `${verb} on node ${String(body.node)}: snapshot at index ${String(body.index)} (term ${String(body.term)}); ` +
      `log now ${String(body.firstIndex)}..${String(body.lastIndex)}` +
      (typeof body.reclaimedPages === "number" && body.reclaimedPages > 0
        ? `; ${body.reclaimedPages} pages returned to the file system`
        : "") +
      "\n",
  )
}

export const snapshotCommand: Command = {
  name: "snapshot",
  summary: "take a Raft snapshot on a node now (the log is then compacted as configured)",
  description:
    "The node snapshots its state machine at its applied index, stores the snapshot in raft.db\n" +
    "and compacts its log keeping [consensus] snapshot_keep_entries entries. Any node's endpoint\n" +
    "will do: the request is passed to NODE over NATS.",
  args: [{ name: "NODE", description: "the node's id" }],
  flags: [ENDPOINTS_FLAG],
  examples: ["lattice admin snapshot n1", "for node in n1 n2 n3; do lattice admin snapshot $node; done"],
  run: (input, io) =>
    Effect.gen(function* () {
      const node = yield* nodeIdArgument(input, io, [
        "snapshot",
        "the node's id",
        "lattice admin snapshot n1",
      ])
      if (typeof node === "number") return node
      io.stdout(`snapshot: asking node ${node}...\n`)
      const answer = yield* adminCall(io, input, `snapshot ${node}`, "/v1/admin/snapshot", { node }, 120_000)
      if (answer === null) return ExitCode.failure
      printReport(io, "snapshot", answer)
      return ExitCode.ok
    }),
}

export const compactLogCommand: Command = {
  name: "compact-log",
  summary: "snapshot a node and compact its Raft log, keeping the last KEEP entries",
  description:
    "Takes a snapshot on NODE now, deletes the log entries before the last KEEP, and returns the\n" +
    "freed pages of raft.db to the file system. Followers further behind than KEEP entries catch\n" +
    "up by snapshot instead.",
  args: [
    { name: "NODE", description: "the node's id" },
    { name: "KEEP", description: "log entries to keep behind the snapshot" },
  ],
  flags: [ENDPOINTS_FLAG],
  examples: ["lattice admin compact-log n1 100000", "lattice admin compact-log n1 50000   # disk full"],
  run: (input, io) =>
    Effect.gen(function* () {
      const node = yield* nodeIdArgument(input, io, [
        "compact-log",
        "the node's id",
        "lattice admin compact-log n1 100000",
      ])
      if (typeof node === "number") return node
      const keepText = input.args[1]
      const keep = Number(keepText)
      if (keepText === undefined || !Number.isSafeInteger(keep) || keep < 0)
        return yield* usageError(
          io,
          "lattice admin compact-log",
          `KEEP must be a whole number of entries >= 0, got ${keepText === undefined ? "nothing" : `"${keepText}"`}`,
        )
      io.stdout(`compact-log: asking node ${node} to snapshot and keep ${keep} entries...\n`)
      const answer = yield* adminCall(
        io,
        input,
        `compact-log ${node}`,
        "/v1/admin/compact-log",
        { node, keep },
        120_000,
      )
      if (answer === null) return ExitCode.failure
      printReport(io, "compact-log", answer)
      return ExitCode.ok
    }),
}
