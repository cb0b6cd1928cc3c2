/**
 * One node's Prometheus metrics: its own prom-client `Registry` (never the global default, since
 * `lattice dev` runs several nodes in one process), the event metrics the actors and adapters
 * update (counters, histograms), and process metrics. Scrape-time gauges that read the node's
 * state are added by `observeNode` (observe-node.ts). Names follow the seeds exactly; every
 * label is bounded (group, follower node, adapter operation, error code), never a key.
 * docs/metrics.md lists them all.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client"
import type { GroupId, NodeId } from "../../schemas/raft.ts"

/** Resolution of the event-loop delay histogram behind `nodejs_eventloop_lag_*` (ms). */
export const EVENT_LOOP_SAMPLE_MS = 100

/** Latency buckets in seconds, 100 µs to 10 s: fsyncs, applies and requests share them. */
export const LATENCY_BUCKETS = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
]

/** Seconds since `startMs` (a `performance.now()` reading): durations for histograms only. */
export const secondsSince = (startMs: number): number => (performance.now() - startMs) / 1000

/** The per-group metrics the group's actors update, bound to the group's label once. */
export interface GroupMetrics {
  readonly group: GroupId
  readonly proposals: Counter.Internal
  readonly proposalSeconds: Histogram.Internal<"group">
  readonly applySeconds: Histogram.Internal<"group">
  readonly heartbeatsSent: Counter.Internal
  readonly heartbeatsReceived: Counter.Internal
  readonly replications: Counter.Internal
  readonly linearizableReads: Counter.Internal
  readonly linBoundFailures: Counter.Internal
  /** Called by the replica whenever its known leader changes (null: none known). */
  readonly leaderChanged: (previous: NodeId | null, next: NodeId | null) => void
}

/** One adapter's request metrics: `lattice_adapter_<adapter>_{requests_total,errors_total,request_duration_seconds}`. */
export interface AdapterMetrics {
  readonly requests: Counter<"operation">
  readonly errors: Counter<"operation" | "code">
  readonly duration: Histogram<"operation">
}

const HEAP_SPACE_METRICS = [
  "nodejs_heap_space_size_total_bytes",
  "nodejs_heap_space_size_used_bytes",
  "nodejs_heap_space_size_available_bytes",
] as const

export class NodeMetrics {
  readonly registry = new Registry()
  readonly walWriteSeconds: Histogram
  readonly walWrites: Counter
  private readonly proposals: Counter<"group">
  private readonly proposalSeconds: Histogram<"group">
  private readonly applySeconds: Histogram<"group">
  private readonly elections: Counter<"group">
  private readonly failovers: Counter<"group">
  private readonly heartbeatsSent: Counter<"group">
  private readonly heartbeatsReceived: Counter<"group">
  private readonly replications: Counter<"group">
  private readonly linearizableReads: Counter<"group">
  private readonly linBoundFailures: Counter<"group">
  /** Replica state-hash divergences detected (the integrity check increments it). */
  readonly divergences: Counter<"group">
  private readonly groups = new Map<GroupId, GroupMetrics>()
  private readonly adapters = new Map<string, AdapterMetrics>()

  constructor(readonly nodeId: NodeId) {
    const registers = [this.registry]
    this.registry.setDefaultLabels({ node: nodeId })
    // The event-loop delay monitor samples with a timer: at prom-client's default 10 ms it woke
    // an idle node 100 times a second (about 1 % of a core; wake-ups are dear on small VMs).
    collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS })
    // Bun answers v8.getHeapSpaceStatistics() by walking the whole heap: 25 ms with a small heap,
    // more with a large one, on the JS thread at every scrape. JavaScriptCore has no V8 heap spaces
    // to report anyway; nodejs_heap_size_* (process.memoryUsage, microseconds) stay.
    for (const name of HEAP_SPACE_METRICS) this.registry.removeSingleMetric(name)
    const counter = <L extends string>(name: string, help: string, labelNames: readonly L[]) =>
      new Counter<L>({ name, help, labelNames, registers })
    const histogram = <L extends string>(name: string, help: string, labelNames: readonly L[]) =>
      new Histogram<L>({ name, help, labelNames, buckets: LATENCY_BUCKETS, registers })
    this.walWriteSeconds = histogram(
      "lattice_wal_write_latency_seconds",
      "Time to write and fsync one group-commit transaction of the Raft log (raft.db).",
      [],
    )
    this.walWrites = counter(
      "lattice_wal_writes_total",
      "Group-commit transactions of the Raft log (each one fsync).",
      [],
    )
    this.proposals = counter(
      "lattice_raft_proposals_total",
      "Commands proposed to the group on this node (its leader, or forwarded to it).",
      ["group"],
    )
    this.proposalSeconds = histogram(
      "lattice_raft_proposal_duration_seconds",
      "From proposing a command on the leader until it is committed and applied.",
      ["group"],
    )
    this.applySeconds = histogram(
      "lattice_apply_loop_duration_seconds",
      "Time to apply one batch of committed entries to the state machine.",
      ["group"],
    )
    this.elections = counter(
      "cluster_elections_total",
      "Leader elections this node has seen: each time a new leader became known.",
      ["group"],
    )
    this.failovers = counter(
      "cluster_failovers_total",
      "Leadership moving from one node to another, as seen by this node.",
      ["group"],
    )
    this.heartbeatsSent = counter("cluster_heartbeats_sent_total", "Raft heartbeats sent.", ["group"])
    this.heartbeatsReceived = counter("cluster_heartbeats_received_total", "Raft heartbeats received.", [
      "group",
    ])
    this.replications = counter(
      "cluster_state_replications_total",
      "Log replication messages sent (appends carrying entries, and snapshots).",
      ["group"],
    )
    this.linearizableReads = counter(
      "lattice_linearizable_reads_total",
      "Linearizable reads (ReadIndex barriers) requested on this node.",
      ["group"],
    )
    this.linBoundFailures = counter(
      "lattice_lin_bound_failures_total",
      "Linearizable reads refused with UNAVAILABLE because the read index could not be proven (LIN-BOUND).",
      ["group"],
    )
    this.divergences = counter(
      "lattice_errors_divergences",
      "Replica state divergences detected (state hashes differing at the same applied index).",
      ["group"],
    )
  }

  /** The metrics of one group, label values bound once so hot paths only observe/increment. */
  group(group: GroupId): GroupMetrics {
    const found = this.groups.get(group)
    if (found !== undefined) return found
    const g = { group: String(group) }
    const elections = this.elections.labels(g)
    const failovers = this.failovers.labels(g)
    this.divergences.labels(g).inc(0)
    let lastKnown: NodeId | null = null
    const made: GroupMetrics = {
      group,
      proposals: this.proposals.labels(g),
      proposalSeconds: this.proposalSeconds.labels(g),
      applySeconds: this.applySeconds.labels(g),
      heartbeatsSent: this.heartbeatsSent.labels(g),
      heartbeatsReceived: this.heartbeatsReceived.labels(g),
      replications: this.replications.labels(g),
      linearizableReads: this.linearizableReads.labels(g),
      linBoundFailures: this.linBoundFailures.labels(g),
      leaderChanged: (_previous, next) => {
        if (next === null || next === lastKnown) return
        elections.inc()
        if (lastKnown !== null) failovers.inc()
        lastKnown = next
      },
    }
    // Counters appear at 0 from the start, so rate() and increase() see the first event.
    for (const c of [elections, failovers, made.proposals, made.heartbeatsSent, made.heartbeatsReceived])
      c.inc(0)
    for (const c of [made.replications, made.linearizableReads, made.linBoundFailures]) c.inc(0)
    this.groups.set(group, made)
    return made
  }

  /** The request metrics of one adapter ("etcd", "nats", …), created on first use. */
  adapter(adapter: string): AdapterMetrics {
    const found = this.adapters.get(adapter)
    if (found !== undefined) return found
    const registers = [this.registry]
    const made: AdapterMetrics = {
      requests: new Counter({
        name: `lattice_adapter_${adapter}_requests_total`,
        help: `Requests served by the ${adapter} adapter, by operation.`,
        labelNames: ["operation"],
        registers,
      }),
      errors: new Counter({
        name: `lattice_adapter_${adapter}_errors_total`,
        help: `Requests of the ${adapter} adapter that failed, by operation and error code.`,
        labelNames: ["operation", "code"],
        registers,
      }),
      duration: new Histogram({
        name: `lattice_adapter_${adapter}_request_duration_seconds`,
        help: `Time to answer a request of the ${adapter} adapter, by operation.`,
        labelNames: ["operation"],
        buckets: LATENCY_BUCKETS,
        registers,
      }),
    }
    this.adapters.set(adapter, made)
    return made
  }

  /**
   * Registers a gauge whose value is read at scrape time (for features that keep their own
   * state: drain, watches, leases…). `read` returns one value, or one per label set.
   */
  gauge<L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    read: () => number | ReadonlyArray<readonly [Partial<Record<L, string | number>>, number]>,
  ): Gauge<L> {
    return new Gauge<L>({
      name,
      help,
      labelNames,
      registers: [this.registry],
      collect() {
        this.reset()
        const v = read()
        if (typeof v === "number") this.set(v)
        else for (const [labels, value] of v) this.set(labels, value)
      },
    })
  }

  /** The exposition text (Prometheus text format 0.0.4). */
  text(): Promise<string> {
    return this.registry.metrics()
  }

  get contentType(): string {
    return this.registry.contentType
  }
}
