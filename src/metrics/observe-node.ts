/**
 * The scrape-time gauges of a node: read from the replicas' published views, the liveness
 * tracker and the data directory when Prometheus scrapes, so they cost nothing between scrapes.
 */
import { readdirSync, statSync } from "node:fs"
import { join } from "node:path"
import type { LatticeNode } from "../node/node.ts"
import type { NodeMetrics } from "./node-metrics.ts"

type Sample = readonly [Record<string, string | number>, number]

const fileSize = (path: string): number | null => {
  try {
    return statSync(path).size
  } catch {
    return null
  }
}

/** The node's SQLite databases (`raft.db`, `kv-<group>.db`) and their WAL files. */
const databases = (dataDir: string): { name: string; db: number; wal: number | null }[] => {
  let names: string[]
  try {
    names = readdirSync(dataDir).filter((n) => n.endsWith(".db"))
  } catch {
    return []
  }
  return names.map((n) => ({
    name: n.slice(0, -3),
    db: fileSize(join(dataDir, n)) ?? 0,
    wal: fileSize(join(dataDir, `${n}-wal`)),
  }))
}

export const observeNode = (metrics: NodeMetrics, node: LatticeNode): void => {
  const perGroup = (read: (g: number) => number | null): (() => Sample[]) => {
    return () => {
      const out: Sample[] = []
      for (const g of node.supervisor.groups()) {
        const v = read(g)
        if (v !== null) out.push([{ group: g }, v])
      }
      return out
    }
  }
  const statusOf = (g: number) => node.group(g)?.view.status
  const kvGroup = () => node.group()
  const liveness = () => {
    const st = kvGroup()?.view.status
    return st === undefined ? null : node.liveness.view(st)
  }

  metrics.gauge(
    "cluster_nodes_total",
    "Voting members in the cluster's configuration.",
    [],
    () => liveness()?.voters.length ?? node.options.members.length,
  )
  metrics.gauge(
    "cluster_nodes_healthy",
    "Voters this node knows are up: itself and every voter heard from within the election timeout (the leader hears from all).",
    [],
    () => liveness()?.healthy.length ?? 0,
  )
  metrics.gauge(
    "cluster_is_leader",
    "1 if this node is the group's leader.",
    ["group"],
    perGroup((g) => (statusOf(g)?.role === "leader" ? 1 : 0)),
  )
  metrics.gauge(
    "cluster_current_term",
    "The group's current Raft term on this node.",
    ["group"],
    perGroup((g) => statusOf(g)?.term ?? null),
  )
  metrics.gauge(
    "lattice_leader_elected",
    "1 while this node knows a leader for the group, else 0.",
    ["group"],
    perGroup((g) => (statusOf(g)?.leader == null ? 0 : 1)),
  )
  metrics.gauge(
    "lattice_cluster_quorum",
    "1 while this node sees a quorum of healthy voters (leader: counted; follower: it hears from a leader), else 0.",
    ["group"],
    perGroup((g) => {
      const st = statusOf(g)
      return st === undefined ? 0 : node.liveness.view(st).quorum ? 1 : 0
    }),
  )
  metrics.gauge(
    "lattice_raft_uncommitted_entries",
    "Entries in this node's log not yet known committed (last index - commit index).",
    ["group"],
    perGroup((g) => {
      const st = statusOf(g)
      return st === undefined ? null : Math.max(0, st.lastIndex - st.commit)
    }),
  )
  metrics.gauge(
    "lattice_raft_applied_index",
    "The last log index applied to the state machine.",
    ["group"],
    perGroup((g) => node.group(g)?.sm.appliedIndex ?? null),
  )
  metrics.gauge(
    "lattice_raft_commit_index",
    "The group's commit index as known by this node.",
    ["group"],
    perGroup((g) => statusOf(g)?.commit ?? null),
  )
  metrics.gauge(
    "lattice_replication_lag_seconds",
    "Leader only: seconds since each follower's log last matched the leader's last index (0 while caught up).",
    ["group", "follower"],
    () => {
      const out: Sample[] = []
      for (const g of node.supervisor.groups()) {
        const st = statusOf(g)
        const lag = st === undefined ? null : node.liveness.view(st).lagSeconds
        if (lag === null) continue
        for (const [follower, s] of Object.entries(lag)) out.push([{ group: g, follower }, s])
      }
      return out
    },
  )
  metrics.gauge(
    "cluster_state_size_bytes",
    "Bytes of the replicated state on this node: the state machine databases (kv-<group>.db and their WAL).",
    [],
    () =>
      databases(node.options.dataDir)
        .filter((d) => d.name.startsWith("kv-"))
        .reduce((n, d) => n + d.db + (d.wal ?? 0), 0),
  )
  metrics.gauge(
    "lattice_db_size_bytes",
    "Size of each SQLite database file in the data directory (raft = the Raft log of every group).",
    ["database"],
    () => databases(node.options.dataDir).map((d): Sample => [{ database: d.name }, d.db]),
  )
  metrics.gauge(
    "lattice_wal_size_bytes",
    "Size of each database's SQLite write-ahead log file.",
    ["database"],
    () => databases(node.options.dataDir).map((d): Sample => [{ database: d.name }, d.wal ?? 0]),
  )
  metrics.gauge(
    "lattice_wal_segments",
    "SQLite write-ahead log files present in the data directory (one per open database).",
    [],
    () => databases(node.options.dataDir).filter((d) => d.wal !== null).length,
  )
  metrics.gauge(
    "lattice_watches_active",
    "Watchers open on this node's watch hub (synced and catching up).",
    ["group"],
    perGroup((g) => node.watchHub(g)?.stats().watchers ?? null),
  )
  metrics.gauge(
    "lattice_watch_pending_events",
    "Events queued for slow watchers on this node.",
    ["group"],
    perGroup((g) => node.watchHub(g)?.stats().pendingEvents ?? null),
  )
  metrics.gauge(
    "lattice_leases_active",
    "Leases in the group's replicated lease table (expired ones awaiting the next tick included).",
    ["group"],
    perGroup((g) => node.group(g)?.sm.leaseCount() ?? null),
  )
  metrics.gauge(
    "lattice_group_restarts",
    "Restarts of the group's actors by the supervisor since the node started.",
    ["group"],
    perGroup((g) => {
      const h = node.supervisor.health(g)
      return h !== undefined && "restarts" in h ? h.restarts : 0
    }),
  )
  metrics.gauge(
    "lattice_group_up",
    "1 while the group's actors run on this node; 0 when restarting, quarantined or stopped.",
    ["group"],
    perGroup((g) => (node.group(g) === undefined ? 0 : 1)),
  )
}
