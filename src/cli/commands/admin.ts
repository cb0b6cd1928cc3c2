/**
 * `lattice admin …`: operations on a running cluster, over the nodes' HTTP admin API. Each verb
 * lives in its own file; this is only the group.
 */
import type { Command } from "../framework/types.ts"
import { compactLogCommand, snapshotCommand } from "./admin-log.ts"
import { addNodeCommand, removeNodeCommand } from "./admin-membership.ts"

export const ADMIN_SUBCOMMANDS: Command[] = [
  addNodeCommand,
  removeNodeCommand,
  snapshotCommand,
  compactLogCommand,
]

export const adminCommand: Command = {
  name: "admin",
  summary: "operate a running cluster: membership, snapshots and log compaction",
  subcommands: ADMIN_SUBCOMMANDS,
  examples: [
    "lattice admin add-node n4 --endpoints http://10.0.0.1:2378",
    "lattice admin remove-node n3",
    "lattice admin snapshot n1",
    "lattice admin compact-log n1 100000",
  ],
}
