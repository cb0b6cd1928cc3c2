/**
 * `lattice start`: load and validate the configuration, print what this node will run with,
 * check the data directory, listeners and NATS (src/cli/preflight.ts), then hand the
 * configuration to the node runtime.
 *
 * The runtime plugs in here: replace `runNode` with the real one (actors, transport, adapters),
 * a function from the validated NodeConfig to the process exit code.
 */
import { resolve } from "node:path"
import { Effect } from "effect"
import { loadConfig } from "../../config/load.ts"
import type { NodeConfig } from "../../config/resolve.ts"
import { configSummaryLines } from "../../config/summary.ts"
import { type CliIO, type Command, ExitCode } from "../framework/types.ts"
import { preflight } from "../preflight.ts"
import { LATTICE_VERSION } from "../version.ts"
import { CONFIG_FLAG, flagOverrides, NODE_FLAGS, SET_FLAG } from "./node-flags.ts"
import { reportConfigError, usageError } from "./report.ts"

/** Runs a node until it stops; returns the exit code. */
export type NodeRuntime = (config: NodeConfig, io: CliIO) => Effect.Effect<number>

/** The node runtime (src/node/run-node.ts), loaded when the command runs. */
export const runNode: NodeRuntime = (config, io) =>
  Effect.flatMap(
    Effect.promise(() => import("../../node/run-node.ts")),
    (m) => m.runNode(config, io),
  )

export const makeStartCommand = (runtime: NodeRuntime = runNode): Command => ({
  name: "start",
  summary: "start a node",
  description:
    "Loads the configuration (defaults < --config file < LATTICE_* env < flags), validates it, prints\n" +
    "a summary and runs the node. NODE_ID and CONFIG_FILE may be given as arguments, as in the\n" +
    "runbooks (`lattice start 4 /etc/lattice/node4.toml`), or as --node-id and --config.",
  args: [
    { name: "NODE_ID", description: "same as --node-id", optional: true },
    { name: "CONFIG_FILE", description: "same as --config", optional: true },
  ],
  flags: [CONFIG_FLAG, ...NODE_FLAGS, SET_FLAG],
  examples: [
    "lattice start --config /etc/lattice/node1.toml",
    "lattice start 4 /etc/lattice/node4.toml",
    "lattice start --node-id n1 --members n1,n2,n3 --data-dir /var/lib/lattice/n1 --nats nats://10.0.0.5:4222",
  ],
  run: (input, io) =>
    Effect.gen(function* () {
      const [argId, argFile] = input.args
      const flagId = input.string("node-id")
      const flagFile = input.string("config")
      if (argId !== undefined && flagId !== undefined && argId !== flagId)
        return yield* usageError(io, "lattice start", `NODE_ID "${argId}" differs from --node-id "${flagId}"`)
      if (argFile !== undefined && flagFile !== undefined && argFile !== flagFile)
        return yield* usageError(
          io,
          "lattice start",
          `CONFIG_FILE "${argFile}" differs from --config "${flagFile}"`,
        )
      const file = argFile ?? flagFile
      const extra =
        argId === undefined ? [] : [{ path: ["node", "id"], value: argId, source: "argument NODE_ID" }]
      const loaded = yield* loadConfig({
        file: file === undefined ? undefined : resolve(io.cwd, file),
        env: io.env,
        flags: flagOverrides(input, extra),
        cwd: io.cwd,
      })
      const from = loaded.file === undefined ? "defaults, environment and flags" : loaded.file
      io.stdout(
        `lattice ${LATTICE_VERSION}: node ${loaded.config.node.id}, configuration from ${from}\n` +
          configSummaryLines(loaded.config)
            .map((l) => `  ${l}\n`)
            .join(""),
      )
      const report = yield* preflight(loaded.config)
      for (const warning of report.warnings) io.stderr(`warning: ${warning}\n`)
      for (const error of report.errors) io.stderr(`error: ${error}\n`)
      if (report.errors.length > 0) return ExitCode.failure
      return yield* runtime(loaded.config, io)
    }).pipe(Effect.catchTag("ConfigError", reportConfigError(io))),
})
