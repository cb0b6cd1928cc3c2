/** A one-screen summary of a configuration, for `start`, `dev` and `config validate`. */
import { clusterMembers, type NodeConfig, synchronousMode } from "./resolve.ts"

/** TLS keys are validated but not served yet (docs/configuration.md, [tls]): say so where they are set. */
const NOT_SERVED = (listener: string) => ` (plaintext: [tls.${listener}] is not served yet)`

export const configSummaryLines = (config: NodeConfig): string[] => {
  const members = clusterMembers(config)
    .map((m) => (m.role === "learner" ? `${m.id} (learner)` : m.id))
    .join(", ")
  return [
    `node        ${config.node.id} (cluster "${config.cluster.name}", members: ${members})`,
    `data dir    ${config.node.data_dir}`,
    `storage     sync_on_write=${config.storage.sync_on_write} (${config.storage.sync_on_write ? "Raft log fdatasync'd before every ack" : `SQLite synchronous=${synchronousMode(config)}, no fsync per write`})`,
    `etcd gRPC   ${config.listeners.etcd}${config.tls.etcd ? NOT_SERVED("etcd") : ""}`,
    `http        ${config.listeners.http}${config.tls.http ? NOT_SERVED("http") : ""}`,
    `metrics     ${config.telemetry.metrics_enabled ? config.telemetry.metrics_bind : "disabled"}`,
    `nats        ${config.nats.urls.join(", ")}`,
    `consensus   tick ${config.consensus.tick_ms} ms, election ${config.consensus.election_ticks}+${config.consensus.election_jitter_ticks} ticks, heartbeat ${config.consensus.heartbeat_ticks} ticks`,
    `sharding    ${config.sharding.kpg_count} key partition groups`,
  ]
}

export const configSummaryLine = (config: NodeConfig): string =>
  `node ${config.node.id}, ${clusterMembers(config).length} member(s), etcd ${config.listeners.etcd}, http ${config.listeners.http}, metrics ${config.telemetry.metrics_bind}, sync_on_write=${config.storage.sync_on_write}`
