/**
 * The node configuration, as read from TOML (`lattice.toml`), `LATTICE_*` environment variables
 * and CLI flags. Keys stay snake_case end to end, so the names in code, files, docs and error
 * messages are the same. Every key has a default except where noted; a section left out of the
 * file gets all of its defaults.
 *
 * Section names follow the operator runbooks: `[node]`, `[cluster]`, `[listeners]`, `[nats]`,
 * `[storage]`, `[consensus]`, `[performance]`, `[network]`, `[admin]`, `[telemetry]`, `[limits]`,
 * `[tls]`, `[tenants]`, `[sharding]`.
 *
 * Each key carries a `DocAnnotationId` text; `config generate` and `docs/configuration.md` are
 * built from it, so the schema is the only place a key is described.
 */
import { Schema } from "effect"

/** Annotation key holding the operator-facing description of a config key or section. */
export const DocAnnotationId: unique symbol = Symbol.for("lattice/config/doc")
/** Annotation key holding a short human type label ("host:port", "integer ≥ 1"). */
export const TypeLabelAnnotationId: unique symbol = Symbol.for("lattice/config/type-label")

const labelled = <S extends Schema.Schema.Any>(schema: S, label: string): S =>
  schema.annotations({ [TypeLabelAnnotationId]: label }) as S

/** A key with a default: optional in the file (exact: an explicit `undefined` is not accepted). */
const key = <A, I>(schema: Schema.Schema<A, I>, defaultValue: () => A, doc: string) =>
  Schema.optionalWith(schema.annotations({ [DocAnnotationId]: doc }), { default: defaultValue, exact: true })

/** A key that may be absent (no default). */
const maybe = <A, I>(schema: Schema.Schema<A, I>, doc: string) =>
  Schema.optionalWith(schema.annotations({ [DocAnnotationId]: doc }), { exact: true })

/** A section: every key inside has a default, so an absent section decodes from `{}`. */
const section = <Fields extends Schema.Struct.Fields>(fields: Fields, doc: string) => {
  const struct = Schema.Struct(fields).annotations({ [DocAnnotationId]: doc })
  // Fields here never need a context; the cast only tells the compiler so. The defaults are
  // decoded on first use, not at import, to keep the CLI's cold start short.
  const plain = struct as unknown as Schema.Schema<Schema.Struct.Type<Fields>>
  let empty: Schema.Struct.Type<Fields> | undefined
  return Schema.optionalWith(struct, {
    default: () => (empty ??= Schema.decodeUnknownSync(plain)({})),
    exact: true,
  })
}

// ---------------------------------------------------------------------------------------------
// Value types

const intIn = (min: number, max: number, label: string) =>
  labelled(Schema.Int.pipe(Schema.between(min, max)), label)

const PositiveInt = labelled(Schema.Int.pipe(Schema.greaterThanOrEqualTo(1)), "integer ≥ 1")
const NonNegativeInt = labelled(Schema.Int.pipe(Schema.greaterThanOrEqualTo(0)), "integer ≥ 0")
const NonEmptyString = labelled(Schema.String.pipe(Schema.minLength(1)), "non-empty string")
const Bool = labelled(Schema.Boolean, "boolean")

const NODE_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/

/** A node id as a string: "n1", "node-4", "4". */
export const NodeIdString = labelled(
  Schema.String.pipe(
    Schema.pattern(NODE_ID_PATTERN, {
      message: () =>
        "expected a node id: 1-63 characters of letters, digits, '.', '_' or '-', starting with a letter or digit",
    }),
  ),
  "node id",
)

/** The runbooks number nodes (`id = 4`); integers are accepted and become the string "4". */
export const NodeId = labelled(
  Schema.Union(
    NodeIdString,
    Schema.transform(Schema.Int.pipe(Schema.greaterThanOrEqualTo(0)), NodeIdString, {
      strict: true,
      decode: (n) => String(n),
      encode: (s) => Number(s),
    }),
  ),
  "node id (string or integer)",
)

const HOST_PORT_PATTERN = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):(\d{1,5})$/

/** `host:port` (IPv6 in brackets: `[::1]:2379`). Port 0 asks the OS for a free port. */
export const HostPort = labelled(
  Schema.String.pipe(
    Schema.filter((s) => {
      const m = HOST_PORT_PATTERN.exec(s)
      return m !== null && Number(m[2]) <= 65535
    }),
  ).annotations({
    message: (issue) =>
      `expected "host:port" such as "127.0.0.1:2379" (port 0-65535), got ${JSON.stringify(issue.actual)}`,
  }),
  "host:port",
)

/** A NATS server URL. */
export const NatsUrl = labelled(
  Schema.String.pipe(
    Schema.pattern(/^(nats|tls|ws|wss):\/\/[^\s,]+$/, {
      message: (issue) =>
        `expected a NATS URL such as "nats://127.0.0.1:4222", got ${JSON.stringify(issue.actual)}`,
    }),
  ),
  "NATS URL",
)

/** A list given either as an array or, from env vars and flags, one comma-separated string. */
const listOf = <A, I>(item: Schema.Schema<A, I>, label: string) =>
  labelled(Schema.Array(item), `array of ${label}`)

export const LogLevel = labelled(
  Schema.Literal("debug", "info", "warn", "error"),
  '"debug" | "info" | "warn" | "error"',
)
export const LogFormat = labelled(Schema.Literal("json", "text"), '"json" | "text"')
export const PeerRole = labelled(Schema.Literal("voter", "learner"), '"voter" | "learner"')

// ---------------------------------------------------------------------------------------------
// Sections

export const NodeSection = section(
  {
    id: key(NodeId, () => "n1", "This node's stable id; peers, the CLI and metrics name the node by it."),
    data_dir: maybe(
      NonEmptyString,
      'Directory for the SQLite database and snapshots. When not set: "data/<node.id>" under the working directory.',
    ),
  },
  "Identity of this node.",
)

export const Peer = Schema.Struct({
  id: NodeId.annotations({ [DocAnnotationId]: "The peer's node id." }),
  address: maybe(
    HostPort,
    "The peer's HTTP listener (host:port): used by the CLI and for forwarding. Raft itself travels over NATS.",
  ),
  role: key(
    PeerRole,
    () => "voter" as const,
    "voter counts toward quorum; learner replicates without voting.",
  ),
})
export type Peer = typeof Peer.Type

export const ClusterSection = section(
  {
    name: key(
      NonEmptyString,
      () => "lattice",
      "Cluster name; it prefixes NATS subjects so clusters can share a NATS.",
    ),
    members: key(
      listOf(NodeId, "node ids"),
      () => [],
      "Initial voting members by node id (the --members flag). Empty means a single-node cluster of node.id, unless peers are listed.",
    ),
    peers: key(
      listOf(Peer, "peer tables"),
      () => [],
      "Peers as [[cluster.peers]] tables with id, address and role. Members and peers are merged by id.",
    ),
    join: key(
      Bool,
      () => false,
      "Join a running cluster (the --join flag): start as a non-member that never bootstraps or campaigns, until `lattice admin add-node` adds it. members must list the cluster's current voters.",
    ),
  },
  "Cluster membership used to bootstrap; later changes go through admin add-node/remove-node.",
)

export const ListenersSection = section(
  {
    etcd: key(HostPort, () => "127.0.0.1:2379", "etcd v3 gRPC API (KV, Watch, Lease, Cluster, Maintenance)."),
    http: key(
      HostPort,
      () => "127.0.0.1:2378",
      "HTTP listener: the etcd JSON gateway (/v3/...), /readyz, /livez and /health endpoints, and the admin API the CLI uses.",
    ),
    redis: maybe(HostPort, "Redis (RESP2/RESP3) adapter; disabled when not set."),
    memcached: maybe(HostPort, "Memcached (ASCII and binary) adapter; disabled when not set."),
  },
  "Client-facing listeners. The metrics listener is [telemetry] metrics_bind.",
)

export const NatsSection = section(
  {
    urls: key(
      listOf(NatsUrl, "NATS URLs"),
      () => ["nats://127.0.0.1:4222"],
      "NATS servers used between replicas (tried in order, reconnects are automatic).",
    ),
    credentials_file: maybe(NonEmptyString, "NATS .creds file (JWT + NKey) for authenticated NATS servers."),
    subject_prefix: key(NonEmptyString, () => "lattice", "Prefix of every NATS subject this node uses."),
    connect_timeout_ms: key(PositiveInt, () => 2000, "How long to wait for the first NATS connection."),
  },
  "NATS, the transport between replicas and for NATS-connected clients.",
)

export const StorageSection = section(
  {
    sync_on_write: key(
      Bool,
      () => true,
      "fsync every write before acknowledging it (the Raft log is fdatasync'd after each commit, off the JS thread, before any ack: the guarantee of SQLite synchronous=FULL). false uses synchronous=NORMAL: faster, but a power loss can drop recent acknowledged writes.",
    ),
    db_file: key(NonEmptyString, () => "lattice.db", "SQLite database file, relative to node.data_dir."),
    snapshot_dir: key(NonEmptyString, () => "snapshots", "Snapshot directory, relative to node.data_dir."),
    max_wal_size_mb: key(
      PositiveInt,
      () => 4,
      "WAL frames (MiB) not yet checkpointed that trigger a checkpoint, run off the JS thread (per database file). Larger means rarer but longer disk stalls: 64 doubled the put p99 on a 2-core VM.",
    ),
    snapshot_interval: key(
      PositiveInt,
      () => 100000,
      "Applied entries between automatic snapshots (etcd's --snapshot-count, whose default is also 100000). Each snapshot copies the whole KV state into raft.db, so smaller means a shorter log (kept in memory, as etcd's) but more work per write.",
    ),
  },
  "Durable storage (SQLite in WAL mode).",
)

export const ConsensusSection = section(
  {
    tick_ms: key(
      intIn(1, 10000, "integer 1..10000"),
      () => 50,
      "Length of one Raft tick in milliseconds. Also how often each group commits what it applied to its kv-<group>.db (the Raft log is what makes writes durable).",
    ),
    election_ticks: key(
      PositiveInt,
      () => 10,
      "Ticks without hearing from a leader before a follower campaigns: the shortest election timeout, what keeps a slow leader (load, fsync stalls) from being deposed. Must exceed heartbeat_ticks; 10x is usual.",
    ),
    election_jitter_ticks: key(
      PositiveInt,
      () => 5,
      "Width of the election timeout's randomization: a follower campaigns after election_ticks plus 0 to election_jitter_ticks - 1 ticks (defaults: 500-700 ms), so followers rarely campaign together. Narrower means faster failover; wider, fewer split votes.",
    ),
    heartbeat_ticks: key(PositiveInt, () => 1, "Ticks between leader heartbeats."),
    max_entries_per_append: key(
      PositiveInt,
      () => 256,
      "Most log entries in one append message to a follower.",
    ),
    max_inflight: key(PositiveInt, () => 256, "Most unacknowledged append messages in flight per follower."),
    snapshot_keep_entries: key(
      NonNegativeInt,
      () => 5000,
      "Log entries kept behind a snapshot so slow followers can catch up without InstallSnapshot.",
    ),
    pre_vote: key(
      Bool,
      () => true,
      "PreVote: a partitioned node cannot disrupt the cluster when it rejoins.",
    ),
    check_quorum: key(Bool, () => true, "CheckQuorum: a leader that loses contact with a quorum steps down."),
    snapshot_only_reads: key(
      Bool,
      () => true,
      "Serve serializable (snapshot-only) reads from this node's local state when it is a follower or learner: fast, possibly stale. When false they take the linearizable path (ReadIndex) on every node but the leader.",
    ),
    divergence_check_interval_seconds: key(
      NonNegativeInt,
      () => 60,
      "Seconds between divergence checks: each node compares its KV hash at its current revision with every other member's at the same revision (etcd's corruption check). A mismatch counts in lattice_errors_divergences, is logged as STATE DIVERGENCE DETECTED and fails the minority node's readiness. 0 turns the check off.",
    ),
  },
  "Raft consensus.",
)

export const PerformanceSection = section(
  {
    batch_size: key(PositiveInt, () => 128, "Most proposals batched into one Raft entry batch."),
    batch_timeout_ms: key(
      NonNegativeInt,
      () => 1,
      "Longest a proposal waits for its batch to fill, in milliseconds; 0 flushes at once.",
    ),
    cache_size: key(
      NonNegativeInt,
      () => 10000,
      "Keys whose newest version each Raft group keeps decoded in memory (the most recently written or loaded first), so a read of one key at the current revision and a put's read of the previous version skip SQLite; 0 disables the cache.",
    ),
    worker_threads: key(
      NonNegativeInt,
      () => 0,
      "Worker threads for CPU-heavy background work (snapshot checksums, compression); 0 picks one per core.",
    ),
  },
  "Batching and caching.",
)

export const NetworkSection = section(
  {
    tcp_nodelay: key(
      Bool,
      () => true,
      "Disable Nagle's algorithm on client TCP connections (lower latency).",
    ),
    advertise_http: maybe(
      HostPort,
      "Address other nodes and the CLI use to reach this node's HTTP listener, when it differs from listeners.http (for example behind NAT or when binding 0.0.0.0).",
    ),
  },
  "Network behaviour of the client listeners.",
)

export const AdminSection = section(
  {
    drain_timeout_seconds: key(
      NonNegativeInt,
      () => 30,
      "During drain, how long to wait for in-flight requests before cancelling them.",
    ),
    leadership_transfer_timeout_seconds: key(
      NonNegativeInt,
      () => 10,
      "During drain or transfer-leadership, how long to wait for another node to take over.",
    ),
    readiness_probe_interval_ms: key(
      PositiveInt,
      () => 1000,
      "How often the node proves a ReadIndex (one heartbeat round, as a linearizable read) for /readyz: the refresh of can_serve_reads and of the control-plane cache (cp_cache_fresh). Must be below cp_cache_ttl_seconds.",
    ),
    cp_cache_ttl_seconds: key(
      PositiveInt,
      () => 5,
      "How long the node's control-plane cache (its manifest: membership and routing epoch) counts as fresh after a ReadIndex round of the current term confirmed it; past this cp_cache_fresh and can_serve_reads fail and /readyz answers 503. There is no grace period: a stale cache fails at once.",
    ),
    shutdown_grace_period_seconds: key(
      NonNegativeInt,
      () => 5,
      "How long a SIGTERM/SIGINT shutdown drain may take (a leader hands over first), and then how long closing connections may take before the process exits anyway.",
    ),
  },
  "Readiness, drain, leadership transfer and shutdown.",
)

export const TelemetrySection = section(
  {
    metrics_bind: key(
      HostPort,
      () => "127.0.0.1:9090",
      "Prometheus /metrics listener (the --listen-metrics flag).",
    ),
    metrics_enabled: key(Bool, () => true, "Serve /metrics at all."),
    log_level: key(LogLevel, () => "info" as const, "Lowest log level written."),
    log_format: key(
      LogFormat,
      () => "json" as const,
      "json: one structured object per line; text: for humans.",
    ),
  },
  "Metrics and logs.",
)

export const LimitsSection = section(
  {
    max_request_bytes: key(
      PositiveInt,
      () => 1572864,
      "Largest client request accepted, in bytes (etcd's default, 1.5 MiB).",
    ),
    max_txn_ops: key(PositiveInt, () => 128, "Most operations in one transaction (etcd's default)."),
    request_timeout_ms: key(PositiveInt, () => 5000, "How long a client request may wait for consensus."),
  },
  "Request limits; requests beyond them fail with a clear error and never touch state.",
)

const ListenerTls = Schema.Struct({
  cert_file: NonEmptyString.annotations({ [DocAnnotationId]: "PEM certificate chain." }),
  key_file: NonEmptyString.annotations({ [DocAnnotationId]: "PEM private key." }),
  ca_file: maybe(NonEmptyString, "PEM CA bundle used to verify client certificates."),
  client_auth: key(Bool, () => false, "Require a client certificate signed by ca_file (mTLS)."),
})

const NatsTls = Schema.Struct({
  ca_file: maybe(NonEmptyString, "PEM CA bundle used to verify the NATS server."),
  cert_file: maybe(NonEmptyString, "PEM client certificate, when the NATS server requires mTLS."),
  key_file: maybe(NonEmptyString, "PEM client key, when the NATS server requires mTLS."),
})

export const TlsSection = section(
  {
    etcd: maybe(
      ListenerTls,
      "TLS for the etcd gRPC listener ([tls.etcd]). Accepted but not served yet: the listener stays plaintext.",
    ),
    http: maybe(
      ListenerTls,
      "TLS for the HTTP listener ([tls.http]). Accepted but not served yet: the listener stays plaintext.",
    ),
    metrics: maybe(
      ListenerTls,
      "TLS for the metrics listener ([tls.metrics]). Accepted but not served yet: the listener stays plaintext.",
    ),
    redis: maybe(ListenerTls, "TLS for the Redis listener ([tls.redis]). Accepted but not served yet."),
    memcached: maybe(
      ListenerTls,
      "TLS for the Memcached listener ([tls.memcached]). Accepted but not served yet.",
    ),
    nats: maybe(NatsTls, "TLS towards NATS ([tls.nats]). Accepted but not used yet."),
  },
  "TLS per listener. The keys are validated, but no listener serves TLS yet: every listener is plaintext, so keep them on loopback or terminate TLS in front of the node.",
)

const TENANT_PATTERN = /^[a-z0-9][a-z0-9_-]{0,62}$/
export const TenantName = labelled(
  Schema.String.pipe(
    Schema.pattern(TENANT_PATTERN, {
      message: (issue) =>
        `expected a tenant name: 1-63 lowercase letters, digits, '_' or '-', got ${JSON.stringify(issue.actual)}`,
    }),
  ),
  "tenant name",
)

export const TenantBootstrap = Schema.Struct({
  name: TenantName.annotations({ [DocAnnotationId]: "Tenant name (namespace)." }),
  quota_bytes: key(NonNegativeInt, () => 0, "Storage quota in bytes; 0 means unlimited."),
})

export const TenantsSection = section(
  {
    default: key(TenantName, () => "default", "Tenant used by clients that name none (plain etcd clients)."),
    bootstrap: key(
      listOf(TenantBootstrap, "tenant tables"),
      () => [],
      "Tenants created when the control plane is first bootstrapped ([[tenants.bootstrap]]); afterwards tenants are managed through the control plane.",
    ),
  },
  "Tenants (namespaces).",
)

export const ShardingSection = section(
  {
    kpg_count: key(
      intIn(1, 4096, "integer 1..4096"),
      () => 16,
      "Key partition groups (Raft groups holding data): kpg = hash(tenant, key, seed) % kpg_count. Fixed at bootstrap.",
    ),
    seed: key(NonNegativeInt, () => 0, "Hash seed for key placement. Fixed at bootstrap."),
  },
  "Sharding of keys into Raft groups.",
)

// ---------------------------------------------------------------------------------------------

export const LatticeConfigSchema = Schema.Struct({
  node: NodeSection,
  cluster: ClusterSection,
  listeners: ListenersSection,
  nats: NatsSection,
  storage: StorageSection,
  consensus: ConsensusSection,
  performance: PerformanceSection,
  network: NetworkSection,
  admin: AdminSection,
  telemetry: TelemetrySection,
  limits: LimitsSection,
  tls: TlsSection,
  tenants: TenantsSection,
  sharding: ShardingSection,
})

/** The decoded configuration: all defaults filled in (`node.data_dir` is resolved by the loader). */
export type LatticeConfig = typeof LatticeConfigSchema.Type
/** What a TOML file may contain: every key optional. */
export type LatticeConfigInput = typeof LatticeConfigSchema.Encoded
