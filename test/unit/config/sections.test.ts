/** Every section accepts its keys, including every key the operator runbooks use. */
import { describe, expect, test } from "bun:test"
import { clusterMembers } from "../../../src/config/resolve.ts"
import { loadOk, writeToml } from "./support.ts"

const FULL = `
[node]
id = "n1"
data_dir = "/var/lib/lattice/node-1"

[cluster]
name = "edge-eu"
members = ["n1", "n2"]

[[cluster.peers]]
id = "n3"
address = "10.0.1.13:2378"
role = "learner"

[listeners]
etcd = "0.0.0.0:2379"
http = "0.0.0.0:2378"
redis = "0.0.0.0:6379"
memcached = "[::1]:11211"

[nats]
urls = ["nats://10.0.0.5:4222", "tls://10.0.0.6:4222"]
credentials_file = "/etc/lattice/nats.creds"
subject_prefix = "lat"
connect_timeout_ms = 500

[storage]
sync_on_write = false
db_file = "kv.db"
snapshot_dir = "snaps"
max_wal_size_mb = 32
snapshot_interval = 5000

[consensus]
tick_ms = 50
election_ticks = 20
heartbeat_ticks = 2
max_entries_per_append = 500
max_inflight = 64
snapshot_keep_entries = 100
pre_vote = false
check_quorum = false

[performance]
batch_size = 500
batch_timeout_ms = 5
worker_threads = 8
cache_size = 50000

[network]
tcp_nodelay = false
advertise_http = "10.0.1.11:2378"

[admin]
drain_timeout_seconds = 45
leadership_transfer_timeout_seconds = 12
readiness_probe_interval_ms = 500
cp_cache_ttl_seconds = 3
shutdown_grace_period_seconds = 7

[telemetry]
metrics_bind = "0.0.0.0:9001"
metrics_enabled = false
log_level = "debug"
log_format = "text"

[limits]
max_request_bytes = 2097152
max_txn_ops = 256
request_timeout_ms = 1000

[tls.etcd]
cert_file = "/etc/lattice/tls/etcd.crt"
key_file = "/etc/lattice/tls/etcd.key"
ca_file = "/etc/lattice/tls/ca.crt"
client_auth = true

[tls.nats]
ca_file = "/etc/lattice/tls/ca.crt"

[tenants]
default = "main"

[[tenants.bootstrap]]
name = "main"

[[tenants.bootstrap]]
name = "billing"
quota_bytes = 1048576

[sharding]
kpg_count = 64
seed = 42
`

describe("config sections", () => {
  test("a file setting every key decodes with every value kept", async () => {
    const { config } = await loadOk({ file: writeToml(FULL) })
    expect(config.node).toEqual({ id: "n1", data_dir: "/var/lib/lattice/node-1" })
    expect(config.cluster.name).toBe("edge-eu")
    expect(clusterMembers(config)).toEqual([
      { id: "n1", role: "voter" },
      { id: "n2", role: "voter" },
      { id: "n3", address: "10.0.1.13:2378", role: "learner" },
    ])
    expect(config.listeners).toEqual({
      etcd: "0.0.0.0:2379",
      http: "0.0.0.0:2378",
      redis: "0.0.0.0:6379",
      memcached: "[::1]:11211",
    })
    expect(config.nats).toEqual({
      urls: ["nats://10.0.0.5:4222", "tls://10.0.0.6:4222"],
      credentials_file: "/etc/lattice/nats.creds",
      subject_prefix: "lat",
      connect_timeout_ms: 500,
    })
    expect(config.storage).toEqual({
      sync_on_write: false,
      db_file: "kv.db",
      snapshot_dir: "snaps",
      max_wal_size_mb: 32,
      snapshot_interval: 5000,
    })
    expect(config.consensus).toEqual({
      tick_ms: 50,
      election_ticks: 20,
      election_jitter_ticks: 5,
      heartbeat_ticks: 2,
      max_entries_per_append: 500,
      max_inflight: 64,
      snapshot_keep_entries: 100,
      pre_vote: false,
      check_quorum: false,
      snapshot_only_reads: true,
      divergence_check_interval_seconds: 60,
    })
    expect(config.performance).toEqual({
      batch_size: 500,
      batch_timeout_ms: 5,
      worker_threads: 8,
      cache_size: 50000,
    })
    expect(config.network).toEqual({ tcp_nodelay: false, advertise_http: "10.0.1.11:2378" })
    expect(config.admin).toEqual({
      drain_timeout_seconds: 45,
      leadership_transfer_timeout_seconds: 12,
      readiness_probe_interval_ms: 500,
      cp_cache_ttl_seconds: 3,
      shutdown_grace_period_seconds: 7,
    })
    expect(config.telemetry).toEqual({
      metrics_bind: "0.0.0.0:9001",
      metrics_enabled: false,
      log_level: "debug",
      log_format: "text",
    })
    expect(config.limits).toEqual({ max_request_bytes: 2097152, max_txn_ops: 256, request_timeout_ms: 1000 })
    expect(config.tls.etcd).toEqual({
      cert_file: "/etc/lattice/tls/etcd.crt",
      key_file: "/etc/lattice/tls/etcd.key",
      ca_file: "/etc/lattice/tls/ca.crt",
      client_auth: true,
    })
    expect(config.tls.nats).toEqual({ ca_file: "/etc/lattice/tls/ca.crt" })
    expect(config.tls.http).toBeUndefined()
    expect(config.tenants).toEqual({
      default: "main",
      bootstrap: [
        { name: "main", quota_bytes: 0 },
        { name: "billing", quota_bytes: 1048576 },
      ],
    })
    expect(config.sharding).toEqual({ kpg_count: 64, seed: 42 })
  })

  // The snippets below are copied from the operator runbooks in the seeds.
  test("runbook: drain configuration", async () => {
    const file = writeToml(
      "[admin]\ndrain_timeout_seconds = 30\nleadership_transfer_timeout_seconds = 10\nshutdown_grace_period_seconds = 5\n",
    )
    const { config } = await loadOk({ file })
    expect(config.admin.drain_timeout_seconds).toBe(30)
    expect(config.admin.leadership_transfer_timeout_seconds).toBe(10)
    expect(config.admin.shutdown_grace_period_seconds).toBe(5)
  })

  test("runbook: throughput, latency and memory tuning", async () => {
    const throughput = await loadOk({
      file: writeToml(`
[performance]
batch_size = 500          # Larger batches
batch_timeout_ms = 5      # Lower timeout
worker_threads = 8        # More parallelism
cache_size = 50000        # Larger cache

[consensus]
max_entries_per_append = 500  # Bigger replication batches
`),
    })
    expect(throughput.config.performance.batch_size).toBe(500)
    expect(throughput.config.consensus.max_entries_per_append).toBe(500)
    const latency = await loadOk({
      file: writeToml(`
[performance]
batch_size = 10           # Smaller batches
batch_timeout_ms = 1      # Lower timeout for quick flush
worker_threads = 16       # More threads for parallelism

[storage]
sync_on_write = false     # Trade durability for speed (careful!)

[network]
tcp_nodelay = true        # Disable Nagle
`),
    })
    expect(latency.config.storage.sync_on_write).toBe(false)
    expect(latency.config.network.tcp_nodelay).toBe(true)
    const memory = await loadOk({
      file: writeToml(`
[performance]
cache_size = 1000         # Smaller cache
batch_size = 50           # Smaller batches

[storage]
max_wal_size_mb = 32      # Smaller WAL before rotation
snapshot_interval = 5000  # More frequent snapshots
`),
    })
    expect(memory.config.storage.max_wal_size_mb).toBe(32)
    expect(memory.config.storage.snapshot_interval).toBe(5000)
    expect(memory.config.performance.cache_size).toBe(1000)
  })

  test("runbook: adding a node with numeric [[cluster.peers]] ids", async () => {
    const { config } = await loadOk({
      file: writeToml(`
[node]
id = 4

[[cluster.peers]]
id = 1
address = "10.0.1.10:5001"

[[cluster.peers]]
id = 4
address = "10.0.1.13:5001"
`),
    })
    expect(config.node.id).toBe("4")
    expect(clusterMembers(config).map((m) => m.id)).toEqual(["1", "4"])
  })
})
