/**
 * A node's client listeners: etcd gRPC, and the HTTP listener serving the etcd JSON gateway,
 * `/livez`, `/healthz`, `GET /v1/status` (what `lattice status` reads) and `GET /metrics`. Both close with the scope.
 */
import { Effect, type Scope } from "effect"
import { createEtcdGateway } from "../adapters/etcd/gateway.ts"
import { startEtcdGrpcServer } from "../adapters/etcd/grpc-server.ts"
import { EtcdService } from "../adapters/etcd/service.ts"
import { metricsResponse } from "../metrics/http.ts"
import { adminRoute } from "./admin-api.ts"
import { NodeEtcdBackend } from "./etcd-backend.ts"
import type { LatticeNode } from "./node.ts"
import { nodeStatus } from "./status-report.ts"

export interface ListenerOptions {
  /** host:port; port 0 picks a free one. */
  readonly etcd: string
  readonly http: string
  readonly maxTxnOps?: number
  readonly maxRequestBytes?: number
}

export interface NodeListeners {
  readonly etcdPort: number
  readonly httpPort: number
  readonly backend: NodeEtcdBackend
}

const splitHostPort = (hp: string): { host: string; port: number } => {
  const i = hp.lastIndexOf(":")
  return { host: hp.slice(0, i).replace(/^\[|\]$/g, ""), port: Number(hp.slice(i + 1)) }
}

const json = (body: unknown, status = 200): Response =>
  new Response(`${JSON.stringify(body)}\n`, { status, headers: { "content-type": "application/json" } })

export const startListeners = (
  node: LatticeNode,
  options: ListenerOptions,
): Effect.Effect<NodeListeners, Error, Scope.Scope> =>
  Effect.gen(function* () {
    const backend = new NodeEtcdBackend(node)
    const service = new EtcdService(backend, {
      metrics: node.metrics.adapter("etcd"),
      ...(options.maxTxnOps === undefined ? {} : { maxTxnOps: options.maxTxnOps }),
      ...(options.maxRequestBytes === undefined ? {} : { maxRequestBytes: options.maxRequestBytes }),
    })
    const grpc = yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: () => startEtcdGrpcServer({ service, address: options.etcd }),
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
              if (path === "/livez" || path === "/healthz" || path === "/health" || path === "/health/live")
                return new Response("ok\n")
              if (path === "/v1/status" && req.method === "GET") return json(nodeStatus(node))
              if (path === "/metrics" && req.method === "GET") return metricsResponse(node.metrics)
              const admin = adminRoute(node, req)
              if (admin !== undefined) return admin
              return gateway(req) ?? new Response("Not Found\n", { status: 404 })
            },
          }),
        catch: (e) => new Error(`cannot listen on ${options.http} (HTTP): ${String(e)}; pick another port`),
      }),
      (s) => Effect.sync(() => s.stop(true)),
    )
    return { etcdPort: grpc.port, httpPort: http.port ?? port, backend }
  })
