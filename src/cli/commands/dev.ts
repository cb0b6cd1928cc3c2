/**
 * `lattice dev`: a local cluster of N nodes in one process, over the in-memory transport, with no
 * external service. Configurations are built and validated here; the cluster runtime plugs in
 * as `runDevCluster`.
 */
import { resolve } from "node:path"
import { Effect } from "effect"
import { devNodeOverrides } from "../../config/dev-cluster.ts"
import { type LoadedConfig, loadConfig } from "../../config/load.ts"
import { namedFlagOverrides, setFlagOverrides } from "../../config/overrides.ts"
import type { NodeConfig } from "../../config/resolve.ts"
import { configSummaryLines } from "../../config/summary.ts"
import { type CliIO, type Command, ExitCode } from "../framework/types.ts"
import { unbindableListeners } from "../preflight.ts"
import { CONFIG_FLAG, LOG_FLAG_PATHS, LOG_FLAGS, SET_FLAG } from "./node-flags.ts"
import { reportConfigError, usageError } from "./report.ts"

/** Runs an in-process cluster until it stops; returns the exit code. */
export type DevClusterRuntime = (configs: ReadonlyArray<NodeConfig>, io: CliIO) => Effect.Effect<number>

/** One line per listener that cannot be bound; exit 1 when there is any. */
export const checkDevPorts = (configs: ReadonlyArray<NodeConfig>, io: CliIO): Effect.Effect<number> =>
  Effect.promise(async () => {
    const busy = (await Promise.all(configs.map(unbindableListeners))).flat()
    for (const b of busy)
      io.stderr(
        b.code === "EADDRINUSE"
          ? `error: lattice dev: ${b.address} (${b.key}) is already in use (another lattice dev or etcd?); stop that process, then run lattice dev again\n`
          : `error: lattice dev: cannot listen on ${b.address} (${b.key}, ${b.code}); stop what holds it, then run lattice dev again\n`,
      )
    return busy.length > 0 ? ExitCode.failure : ExitCode.ok
  })

/**
 * The in-process cluster runtime (src/node/dev-cluster.ts), loaded when the command runs, after
 * checking that every node's ports are free (a previous `lattice dev` often still holds them).
 */
export const runDevCluster: DevClusterRuntime = (configs, io) =>
  Effect.flatMap(checkDevPorts(configs, io), (code) =>
    code !== ExitCode.ok
      ? Effect.succeed(code)
      : Effect.flatMap(
          Effect.promise(() => import("../../node/dev-cluster.ts")),
          (m) => m.runDevCluster(configs, io),
        ),
  )

export const makeDevCommand = (runtime: DevClusterRuntime = runDevCluster): Command => ({
  name: "dev",
  summary: "run a local cluster in one process (3 nodes by default), with no external service",
  description:
    "Node i (from 0) is n<i+1>, listens on etcd 2379+100i, http 2378+100i and metrics 9090+i, and keeps\n" +
    "its data in DIR/n<i+1>. A --config file and --set apply to every node.",
  flags: [
    CONFIG_FLAG,
    {
      name: "nodes",
      short: "n",
      type: "string",
      placeholder: "N",
      description: "number of nodes, 1-9 (default 3)",
    },
    {
      name: "data-dir",
      type: "string",
      placeholder: "DIR",
      description: "base data directory (default data/dev)",
    },
    ...LOG_FLAGS,
    SET_FLAG,
  ],
  examples: [
    "lattice dev",
    "lattice dev --log-level debug --log-format text",
    "lattice dev --nodes 5 --data-dir /tmp/lattice-dev",
  ],
  run: (input, io) =>
    Effect.gen(function* () {
      const nodesText = input.string("nodes") ?? "3"
      const count = Number(nodesText)
      if (!Number.isInteger(count) || count < 1 || count > 9)
        return yield* usageError(
          io,
          "lattice dev",
          `--nodes must be an integer from 1 to 9, got "${nodesText}"`,
        )
      const baseDir = resolve(io.cwd, input.string("data-dir") ?? "data/dev")
      const file = input.string("config")
      const logs = namedFlagOverrides(
        LOG_FLAG_PATHS.map(([name, path]) => [name, path, input.string(name)] as const),
      )
      const set = setFlagOverrides(input.list("set"))
      const loaded: LoadedConfig[] = []
      for (const node of devNodeOverrides(count, baseDir)) {
        loaded.push(
          yield* loadConfig({
            file: file === undefined ? undefined : resolve(io.cwd, file),
            env: io.env,
            flags: {
              overrides: [...node.overrides.overrides, ...logs.overrides, ...set.overrides],
              issues: [...logs.issues, ...set.issues],
            },
            cwd: io.cwd,
          }),
        )
      }
      io.stdout(
        `lattice dev: ${count} node(s) in one process\n` +
          loaded
            .map((l) =>
              configSummaryLines(l.config)
                .map((line) => `  ${line}\n`)
                .join(""),
            )
            .join("  --\n"),
      )
      return yield* runtime(
        loaded.map((l) => l.config),
        io,
      )
    }).pipe(Effect.catchTag("ConfigError", reportConfigError(io))),
})
