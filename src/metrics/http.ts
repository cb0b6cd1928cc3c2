/**
 * Serving a node's metrics: the `/metrics` response (also mounted on the node's HTTP listener),
 * and the dedicated Prometheus listener on `[telemetry] metrics_bind`, closed with its scope.
 */
import { Effect, type Scope } from "effect"
import type { NodeMetrics } from "./node-metrics.ts"

export const metricsResponse = async (metrics: NodeMetrics): Promise<Response> =>
  new Response(await metrics.text(), { headers: { "content-type": metrics.contentType } })

const splitHostPort = (hp: string): { host: string; port: number } => {
  const i = hp.lastIndexOf(":")
  return { host: hp.slice(0, i).replace(/^\[|\]$/g, ""), port: Number(hp.slice(i + 1)) }
}

/** Serves `GET /metrics` on `bind` (host:port; port 0 picks a free one); returns the bound port. */
export const startMetricsListener = (
  bind: string,
  metrics: NodeMetrics,
): Effect.Effect<number, Error, Scope.Scope> =>
  Effect.map(
    Effect.acquireRelease(
      Effect.try({
        try: () => {
          const { host, port } = splitHostPort(bind)
          return Bun.serve({
            hostname: host,
            port,
            fetch: (req) =>
              new URL(req.url).pathname === "/metrics"
                ? metricsResponse(metrics)
                : new Response("Not Found: metrics are at /metrics\n", { status: 404 }),
          })
        },
        catch: (e) =>
          new Error(
            `cannot listen on ${bind} (telemetry.metrics_bind): ${String(e)}; pick another port with --listen-metrics`,
          ),
      }),
      (server) => Effect.sync(() => server.stop(true)),
    ),
    (server) => server.port ?? 0,
  )
