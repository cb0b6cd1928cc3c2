/**
 * Adapter metrics for the etcd API: wraps each route's call so gRPC and the JSON gateway count
 * requests and errors (by gRPC code name) and time unary calls, per operation (the RPC name:
 * Range, Put, Txn, …). Label children are bound once per route: a request only increments and
 * observes. Streams (Watch, LeaseKeepAlive) are counted when opened; their lifetime is no latency.
 */
import type { AdapterMetrics } from "../../metrics/node-metrics.ts"
import { GrpcCode, toEtcdError } from "./errors.ts"
import { type Route, routesFor } from "./routes.ts"
import type { EtcdService } from "./service.ts"

const CODE_NAMES: { readonly [code: number]: string } = Object.fromEntries(
  Object.entries(GrpcCode).map(([name, code]) => [code, name]),
)

export const grpcCodeName = (err: unknown): string => CODE_NAMES[toEtcdError(err).code] ?? "UNKNOWN"

type AnyCall = (...args: unknown[]) => unknown

const instrument = (route: Route, metrics: AdapterMetrics): Route => {
  const operation = route.method.name
  const requests = metrics.requests.labels({ operation })
  const duration = metrics.duration.labels({ operation })
  const failed = (err: unknown) => metrics.errors.labels({ operation, code: grpcCodeName(err) }).inc()
  const call = route.call as AnyCall
  if (route.kind === "unary") {
    const timed: AnyCall = (...args) => {
      requests.inc()
      const start = performance.now()
      const done = () => duration.observe((performance.now() - start) / 1000)
      let pending: Promise<unknown>
      try {
        pending = call(...args) as Promise<unknown>
      } catch (err) {
        failed(err)
        done()
        throw err
      }
      return pending.then(
        (res) => {
          done()
          return res
        },
        (err) => {
          failed(err)
          done()
          throw err
        },
      )
    }
    return { ...route, call: timed } as Route
  }
  const counted: AnyCall = (...args) => {
    requests.inc()
    const inner = call(...args) as AsyncIterable<unknown>
    return {
      async *[Symbol.asyncIterator]() {
        try {
          yield* inner
        } catch (err) {
          failed(err)
          throw err
        }
      },
    }
  }
  return { ...route, call: counted } as Route
}

/** The routes a server mounts: instrumented when the service has adapter metrics. */
export const servedRoutes = (svc: EtcdService): readonly Route[] => {
  const routes = routesFor(svc.backend)
  const metrics = svc.metrics
  return metrics === undefined ? routes : routes.map((r) => instrument(r, metrics))
}
