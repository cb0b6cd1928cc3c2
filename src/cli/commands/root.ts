/**
 * The command tree. Verbs that talk to a running cluster (admin, snapshot, backup, restore,
 * benchmark) are registered with their features, not before.
 */
import type { Command } from "../framework/types.ts"
import { adminCommand } from "./admin.ts"
import { benchmarkCommand } from "./benchmark.ts"
import { configCommand } from "./config.ts"
import { type DevClusterRuntime, makeDevCommand, runDevCluster } from "./dev.ts"
import { makeStartCommand, type NodeRuntime, runNode } from "./start.ts"
import { statusCommand } from "./status.ts"
import { versionCommand } from "./version-command.ts"

export interface Runtimes {
  readonly runNode: NodeRuntime
  readonly runDevCluster: DevClusterRuntime
}

export const rootCommand = (runtimes: Runtimes = { runNode, runDevCluster }): Command => ({
  name: "lattice",
  summary: "a highly available, strongly consistent key-value store (etcd v3 compatible)",
  subcommands: [
    makeStartCommand(runtimes.runNode),
    makeDevCommand(runtimes.runDevCluster),
    statusCommand,
    adminCommand,
    benchmarkCommand,
    configCommand,
    versionCommand,
  ],
  examples: [
    "lattice dev",
    "lattice config generate n1 /etc/lattice/node1.toml",
    "lattice start --config /etc/lattice/node1.toml",
  ],
})
