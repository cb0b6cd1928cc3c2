/** What a node runs with, independent of how it was configured (TOML, flags, tests). */
import type { NodeId } from "../../schemas/raft.ts"
import type { NodeConfig } from "../config/resolve.ts"
import { clusterMembers, synchronousMode } from "../config/resolve.ts"
import type { SynchronousMode } from "../storage/driver.ts"

export interface NodeOptions {
  readonly nodeId: NodeId
  readonly clusterName: string
  /** Bootstrap voters (node ids). */
  readonly members: readonly NodeId[]
  /**
   * Join a running cluster (`lattice start --join`): start as a non-member that never bootstraps
   * or campaigns, and wait to be added with `lattice admin add-node`.
   */
  readonly join?: boolean
  /**
   * Serializable reads served locally on followers and learners (`[consensus] snapshot_only_reads`,
   * default true); when false they take the ReadIndex path on every node but the leader.
   */
  readonly snapshotOnlyReads?: boolean
  readonly dataDir: string
  readonly synchronous: SynchronousMode
  readonly tickMs: number
  readonly electionTicks: number
  /** Width of the election timeout's randomization (`[consensus] election_jitter_ticks`); absent: electionTicks. */
  readonly electionJitterTicks?: number
  readonly heartbeatTicks: number
  readonly preVote: boolean
  readonly checkQuorum: boolean
  readonly maxEntriesPerAppend: number
  readonly maxInflight: number
  readonly batchSize: number
  readonly batchTimeoutMs: number
  readonly requestTimeoutMs: number
  readonly snapshotInterval: number
  /** WAL bytes not yet checkpointed that trigger a checkpoint (`storage.max_wal_size_mb`); default 4 MiB. */
  readonly walCheckpointBytes?: number
  readonly keepEntries: number
  /** Keys whose newest version each group keeps in memory (`performance.cache_size`); 0: none. */
  readonly keyCacheSize?: number
  readonly mailboxCapacity: number
  /** Lease tick interval (expiry resolution), default 100 ms; see actors/lease-keeper.ts. */
  readonly leaseTickMs?: number
  /** Client URLs per node, for MemberList (etcd gRPC listeners as http://host:port). */
  readonly clientUrls: Readonly<Record<NodeId, readonly string[]>>
  readonly peerUrls: Readonly<Record<NodeId, readonly string[]>>
  /** Period of watch progress notifications (etcd's 10 minutes when absent). */
  readonly watchProgressIntervalMs?: number
  /** Period of the KV-hash comparison between members (`[consensus] divergence_check_interval_seconds`); 0 or absent: off. */
  readonly divergenceCheckIntervalMs?: number
}

export const nodeOptionsFromConfig = (
  config: NodeConfig,
  urls: { clientUrls?: NodeOptions["clientUrls"]; peerUrls?: NodeOptions["peerUrls"] } = {},
): NodeOptions => {
  const peers = clusterMembers(config)
  const self = config.node.id
  const peerUrls: Record<NodeId, string[]> = {}
  for (const p of peers) if (p.address !== undefined) peerUrls[p.id] = [`http://${p.address}`]
  return {
    nodeId: self,
    clusterName: config.cluster.name,
    members: peers.filter((p) => p.role === "voter").map((p) => p.id),
    join: config.cluster.join,
    snapshotOnlyReads: config.consensus.snapshot_only_reads,
    dataDir: config.node.data_dir,
    synchronous: synchronousMode(config),
    tickMs: config.consensus.tick_ms,
    electionTicks: config.consensus.election_ticks,
    electionJitterTicks: config.consensus.election_jitter_ticks,
    heartbeatTicks: config.consensus.heartbeat_ticks,
    preVote: config.consensus.pre_vote,
    checkQuorum: config.consensus.check_quorum,
    maxEntriesPerAppend: config.consensus.max_entries_per_append,
    maxInflight: config.consensus.max_inflight,
    batchSize: config.performance.batch_size,
    batchTimeoutMs: config.performance.batch_timeout_ms,
    requestTimeoutMs: config.limits.request_timeout_ms,
    snapshotInterval: config.storage.snapshot_interval,
    walCheckpointBytes: config.storage.max_wal_size_mb * 1024 * 1024,
    keepEntries: config.consensus.snapshot_keep_entries,
    keyCacheSize: config.performance.cache_size,
    divergenceCheckIntervalMs: config.consensus.divergence_check_interval_seconds * 1000,
    mailboxCapacity: 8192,
    clientUrls: urls.clientUrls ?? { [self]: [`http://${config.listeners.etcd}`] },
    peerUrls: urls.peerUrls ?? peerUrls,
  }
}
