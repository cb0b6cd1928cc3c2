/**
 * A node's client listeners: etcd gRPC, and the HTTP listener serving the etcd JSON gateway, the
 * health endpoints, `GET /v1/status` (what `lattice status` reads), `GET /metrics` and the admin
 * API (admin-api.ts: membership and log maintenance; admin-ops-api.ts: drain, shutdown, leadership). Both close with the scope. The adapters reach the node through the drain's
 * request gate (gated-backend.ts); readiness and the drain workflow run in the same scope.
 */
import { Deferred, Effect, type Scope } from "effect"
import { type DrainController, makeDrainController, type WatchControl } from "../../actors/drain.ts"
import { type Readiness, startReadiness } from "../../actors/readiness.ts"
import { clearDrained, markDrained, rejoinAfterDrain } from "../../actors/rejoin-voter.ts"
import { RequestGate } from "../../actors/request-gate.ts"
import type { EtcdBackend } from "../adapters/etcd/backend.ts"
import { createEtcdGateway } from "../adapters/etcd/gateway.ts"
import { startEtcdGrpcServer } from "../adapters/etcd/grpc-server.ts"
import { EtcdService } from "../adapters/etcd/service.ts"
import { metricsResponse } from "../metrics/http.ts"
import { observeCpCache } from "../metrics/observe-cp-cache.ts"
import { observeDrain } from "../metrics/observe-drain.ts"
import { adminRoute } from "./admin-api.ts"
import { adminRoutes, type ShutdownMode } from "./admin-ops-api.ts"
import { NodeEtcdBackend } from "./etcd-backend.ts"
import { gatedBackend } from "./gated-backend.ts"
import type { LatticeNode } from "./node.ts"
import { nodeStatus } from "./status-report.ts"

export interface ListenerOptions {
  /** host:port; port 0 picks a free one. */
  readonly etcd: string
  readonly http: string
  readonly maxTxnOps?: number
  readonly maxRequestBytes?: number
  /** `[admin] drain_timeout_seconds` in ms (default 30 s). */
  readonly drainTimeoutMs?: number
  /** `[admin] leadership_transfer_timeout_seconds` in ms (default 10 s). */
  readonly transferTimeoutMs?: number
  /** `[admin] readiness_probe_interval_ms`: how often readiness proves a ReadIndex (default 1 s). */
  readonly readinessProbeMs?: number
  /** `[admin] cp_cache_ttl_seconds` in ms: how long a manifest confirmation stays fresh (default 5 s). */
  readonly readinessMaxAgeMs?: number
  /** The node's log (drain step transitions). */
  readonly log?: (line: string) => void
}

export interface NodeListeners {
  readonly etcdPort: number
  readonly httpPort: number
  /** What the adapters call: the node's backend behind the drain gate. */
  readonly backend: EtcdBackend
  readonly gate: RequestGate
  readonly readiness: Readiness
  readonly drain: DrainController
  /** Completed by `POST /v1/admin/shutdown`; the process runner exits on it. */
  readonly shutdownRequested: Deferred.Deferred<ShutdownMode>
}

const splitHostPort = (hp: string): { host: string; port: number } => {
  const i = hp.lastIndexOf(":")
  return { host: hp.slice(0, i).replace(/^\[|\]$/g, ""), port: Number(hp.slice(i + 1)) }
}

const json = (body: unknown, status = 200): Response =>
  new Response(`${JSON.stringify(body)}\n`, { status, headers: { "content-type": "application/json" } })

/** The drain's hold on the node's watch hub: cancel every watch and refuse new ones until reopened. */
const watchControlOf = (node: LatticeNode): WatchControl | undefined => {
  const hub = node.watchHub()
  if (hub === undefined) return undefined
  return {
    count: () => hub.stats().watchers,
    cancelAll: (reason) => hub.cancelAll(reason, { refuseNew: true }),
    acceptNew: () => hub.acceptNew(),
  }
}

export const startListeners = (
  node: LatticeNode,
  options: ListenerOptions,
): Effect.Effect<NodeListeners, Error, Scope.Scope> =>
  Effect.gen(function* () {
    const inner = new NodeEtcdBackend(node)
    const gate = new RequestGate(node.options.nodeId)
    const backend = gatedBackend(inner, gate)
    let adaptersUp = false
    const readiness = yield* startReadiness({
      nodeId: node.options.nodeId,
      clusterName: node.options.clusterName,
      groupIds: () => node.supervisor.groups(),
      group: () => node.group(),
      barrier: node.barrier(),
      gate,
      adaptersUp: () => adaptersUp,
      divergence: () => node.divergence.suspected(),
      probeIntervalMs: options.readinessProbeMs ?? 1000,
      probeTimeoutMs: Math.min(node.options.requestTimeoutMs, 2000),
      cacheMaxAgeMs: options.readinessMaxAgeMs ?? 5000,
    })
    const transferTimeoutMs = options.transferTimeoutMs ?? 10_000
    const drain = yield* makeDrainController({
      nodeId: node.options.nodeId,
      gate,
      group: () => node.group(),
      changeMembership: (change) => node.changeMembership(change),
      watches: () => watchControlOf(node),
      drainTimeoutMs: options.drainTimeoutMs ?? 30_000,
      markDrained: () => markDrained(node.options.dataDir, node.options.nodeId, Date.now()),
      clearDrained: () => clearDrained(node.options.dataDir),
      transferTimeoutMs,
      ...(options.log === undefined ? {} : { log: options.log }),
    })
    observeDrain(node.metrics, drain, readiness)
    observeCpCache(node.metrics, readiness)
    yield* Effect.forkScoped(
      rejoinAfterDrain({
        nodeId: node.options.nodeId,
        dataDir: node.options.dataDir,
        group: () => node.group(),
        barrier: node.barrier(),
        changeMembership: (change) => node.changeMembership(change),
        draining: () => gate.draining,
        log: options.log ?? (() => {}),
      }),
    )
    const shutdownRequested = yield* Deferred.make<ShutdownMode>()
    const admin = adminRoutes({ node, readiness, drain, shutdown: shutdownRequested, transferTimeoutMs })

    const service = new EtcdService(backend, {
      metrics: node.metrics.adapter("etcd"),
      ...(options.maxTxnOps === undefined ? {} : { maxTxnOps: options.maxTxnOps }),
      ...(options.maxRequestBytes === undefined ? {} : { maxRequestBytes: options.maxRequestBytes }),
    })
    const grpc = yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: () =>
          startEtcdGrpcServer({
            service,
            address: options.etcd,
            onError: (e) =>
              options.log?.(`etcd gRPC: a client connection closed on an unexpected error: ${String(e)}`),
          }),
        catch: (e) =>
          new Error(`cannot listen on ${options.etcd} (etcd gRPC): ${String(e)}; pick another port`),
      }),
      (s) => Effect.sync(() => s.forceShutdown()),
    )
    const gateway = createEtcdGateway(service)
    const { host, port } = splitHostPort(options.http)
    const http = yield* Effect.acquireRelease(
      Effect.try({
        try: () =>
          Bun.serve({
            hostname: host,
            port,
            fetch: (req) => {
              const path = new URL(req.url).pathname
              if (path === "/v1/status" && req.method === "GET") return json(nodeStatus(node))
              if (path === "/metrics" && req.method === "GET") return metricsResponse(node.metrics)
              return (
                adminRoute(node, req) ??
                admin(req) ??
                gateway(req) ??
                new Response("Not Found\n", { status: 404 })
              )
            },
          }),
        catch: (e) => new Error(`cannot listen on ${options.http} (HTTP): ${String(e)}; pick another port`),
      }),
      (s) => Effect.sync(() => s.stop(true)),
    )
    node.metrics.gauge(
      "lattice_connections_active",
      "Open client connections (grpc: HTTP/2 connections to the etcd gRPC listener; http: requests in flight on the HTTP listener).",
      ["listener"],
      () => [
        [{ listener: "grpc" }, grpc.connections()],
        [{ listener: "http" }, http.pendingRequests],
      ],
    )
    adaptersUp = true
    return {
      etcdPort: grpc.port,
      httpPort: http.port ?? port,
      backend,
      gate,
      readiness,
      drain,
      shutdownRequested,
    }
  })
