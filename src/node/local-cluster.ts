/**
 * N nodes in one process over an in-memory network (for `lattice dev`, the embedded SDK and
 * tests). Each node lives in its own Scope, so one can be stopped (its transport detaches, its
 * databases close: a crash without losing fsynced data) and started again on the same data dir.
 */
import { Effect, Exit, type Layer, Scope } from "effect"
import type { NodeId } from "../../schemas/raft.ts"
import { startMetricsListener } from "../metrics/http.ts"
import { makeInMemoryTransport } from "../transport/in-memory.ts"
import { InMemoryNetwork } from "../transport/in-memory-network.ts"
import { type ListenerOptions, type NodeListeners, startListeners } from "./listeners.ts"
import { type LatticeNode, startNode } from "./node.ts"
import type { NodeOptions } from "./options.ts"

export interface LocalNodeSpec {
  readonly options: NodeOptions
  /** Client listeners; none when absent. */
  readonly listeners?: ListenerOptions
  /** host:port of this node's own Prometheus listener; none when absent (/metrics is on the HTTP listener too). */
  readonly metricsBind?: string
}

export interface RunningLocalNode {
  readonly node: LatticeNode
  readonly listeners: NodeListeners | null
  readonly metricsPort: number | null
  readonly scope: Scope.CloseableScope
}

export class LocalCluster {
  readonly network: InMemoryNetwork
  private readonly running = new Map<NodeId, RunningLocalNode>()

  constructor(
    readonly specs: readonly LocalNodeSpec[],
    seed = 1,
    /** The logger for every node (src/log/logger.ts); Effect's default when absent. */
    readonly logging?: Layer.Layer<never>,
  ) {
    this.network = new InMemoryNetwork({ seed })
  }

  get ids(): NodeId[] {
    return this.specs.map((s) => s.options.nodeId)
  }

  get(id: NodeId): RunningLocalNode | undefined {
    return this.running.get(id)
  }

  nodes(): RunningLocalNode[] {
    return [...this.running.values()]
  }

  async start(id: NodeId): Promise<RunningLocalNode> {
    const spec = this.specs.find((s) => s.options.nodeId === id)
    if (spec === undefined) throw new Error(`no node ${id} in this cluster`)
    if (this.running.has(id)) throw new Error(`node ${id} is already running`)
    const scope = Effect.runSync(Scope.make())
    const build = Effect.gen(this, function* () {
      const transport = yield* makeInMemoryTransport(this.network, id)
      const node = yield* startNode(spec.options, transport)
      const listeners = spec.listeners === undefined ? null : yield* startListeners(node, spec.listeners)
      const metricsPort =
        spec.metricsBind === undefined ? null : yield* startMetricsListener(spec.metricsBind, node.metrics)
      return { node, listeners, metricsPort, scope }
    })
    const logged = build.pipe(Effect.annotateLogs({ node: id }))
    const exit = await Effect.runPromiseExit(
      Scope.extend(this.logging === undefined ? logged : Effect.provide(logged, this.logging), scope),
    )
    if (Exit.isFailure(exit)) {
      await Effect.runPromise(Scope.close(scope, exit))
      throw new Error(`node ${id} failed to start: ${String(exit.cause)}`)
    }
    this.running.set(id, exit.value)
    return exit.value
  }

  async startAll(): Promise<void> {
    for (const id of this.ids) await this.start(id)
  }

  /** Stops a node: closes its listeners, transport and databases. */
  async stop(id: NodeId): Promise<void> {
    const r = this.running.get(id)
    if (r === undefined) return
    this.running.delete(id)
    await Effect.runPromise(Scope.close(r.scope, Exit.void))
  }

  async stopAll(): Promise<void> {
    for (const id of [...this.running.keys()]) await this.stop(id)
  }

  /** The node every running node agrees is leader of the KV group, if any. */
  leader(): NodeId | null {
    const seen = new Set<string | null>()
    for (const r of this.running.values()) seen.add(r.node.group()?.view.status.leader ?? null)
    if (seen.size !== 1) return null
    const [leader] = [...seen]
    return leader !== undefined && leader !== null && this.running.has(leader) ? leader : null
  }

  /** Waits (polling) until the running nodes agree on a leader. */
  async awaitLeader(timeoutMs = 10_000): Promise<NodeId> {
    const until = performance.now() + timeoutMs
    while (performance.now() < until) {
      const l = this.leader()
      if (l !== null) return l
      await Bun.sleep(10)
    }
    throw new Error("no leader elected in time")
  }
}
