/**
 * `lattice admin …`: operations on a running cluster, over the nodes' HTTP admin API. Each verb
 * lives in its own file; this is only the group.
 */
import type { Command } from "../framework/types.ts"
import {
  clusterStatusCommand,
  forceElectionCommand,
  transferLeadershipCommand,
  waitReadyCommand,
} from "./admin-cluster.ts"
import { drainCommand, drainStatusCommand, shutdownCommand } from "./admin-drain.ts"
import { compactLogCommand, snapshotCommand } from "./admin-log.ts"
import { addNodeCommand, removeNodeCommand } from "./admin-membership.ts"

export const ADMIN_SUBCOMMANDS: Command[] = [
  drainCommand,
  drainStatusCommand,
  waitReadyCommand,
  clusterStatusCommand,
  shutdownCommand,
  transferLeadershipCommand,
  forceElectionCommand,
  addNodeCommand,
  removeNodeCommand,
  snapshotCommand,
  compactLogCommand,
]

export const adminCommand: Command = {
  name: "admin",
  summary: "operate a running cluster: drain, readiness, leadership, membership, snapshots, log compaction",
  subcommands: ADMIN_SUBCOMMANDS,
  examples: [
    "lattice admin drain --node-id n1",
    "lattice admin wait-ready --timeout 60s",
    "lattice admin cluster-status --endpoints http://10.0.0.1:2378,http://10.0.0.2:2378",
    "lattice admin add-node n4 --endpoints http://10.0.0.1:2378",
    "lattice admin remove-node n3",
    "lattice admin snapshot n1",
    "lattice admin compact-log n1 100000",
  ],
}
