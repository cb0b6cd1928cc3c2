/**
 * The NATS request-reply KV service (docs/nats-api.md): subscribes to `lattice.<cluster>.kv.<op>`
 * in the cluster's queue group and answers each request through the etcd service over the node's
 * `EtcdBackend`. The connection belongs to the caller's scope and is drained when it closes, so
 * requests in flight still get their reply.
 */

import { readFileSync } from "node:fs"
import {
  type ConnectionOptions,
  connect,
  credsAuthenticator,
  type NatsConnection,
} from "@nats-io/transport-node"
import { Effect, type Scope } from "effect"
import { NATS_OPS } from "../../../schemas/nats-api.ts"
import type { AdapterMetrics } from "../../metrics/node-metrics.ts"
import type { EtcdBackend } from "../etcd/backend.ts"
import { EtcdService, type EtcdServiceOptions } from "../etcd/service.ts"
import { handleRequest } from "./handle-request.ts"
import { kvQueueGroup, kvSubject } from "./subjects.ts"
import { serveNatsWatches } from "./watch.ts"

export interface NatsKvServiceConfig extends EtcdServiceOptions {
  readonly cluster: string
  readonly backend: EtcdBackend
  /** NATS server URLs. */
  readonly servers: readonly string[]
  /** NATS credentials file (.creds), as the node's transport uses. */
  readonly credsFile?: string
  /** Extra connection options (name, timeouts, …). */
  readonly connection?: Omit<ConnectionOptions, "servers">
}

export class NatsKvServiceError extends Error {
  override readonly name = "NatsKvServiceError"
}

export interface NatsKvService {
  readonly connection: NatsConnection
  readonly subjects: readonly string[]
}

/** `config.metrics` here are the NATS adapter's (lattice_adapter_nats_*), per operation. */
const observer = (metrics: AdapterMetrics | undefined, op: string) => {
  if (metrics === undefined) return null
  const requests = metrics.requests.labels({ operation: op })
  const duration = metrics.duration.labels({ operation: op })
  return {
    start: (): number => {
      requests.inc()
      return performance.now()
    },
    end: (start: number, body: string): void => {
      duration.observe((performance.now() - start) / 1000)
      if (!body.startsWith('{"error"')) return
      const code = (JSON.parse(body) as { error?: { code?: string } }).error?.code ?? "UNKNOWN"
      metrics.errors.labels({ operation: op, code }).inc()
    },
  }
}

const serve = (nc: NatsConnection, config: NatsKvServiceConfig): string[] => {
  const { metrics, ...etcdOptions } = config
  const svc = new EtcdService(config.backend, etcdOptions)
  const queue = kvQueueGroup(config.cluster)
  return NATS_OPS.map((op) => {
    const subject = kvSubject(config.cluster, op)
    const observe = observer(metrics, op)
    nc.subscribe(subject, {
      queue,
      callback: (err, msg) => {
        if (err !== null || msg.reply === undefined || msg.reply === "") return
        const start = observe?.start() ?? 0
        void handleRequest(svc, op, msg.data).then((body) => {
          observe?.end(start, body)
          // The requester may be gone or the connection draining: nothing left to do then.
          try {
            if (!nc.isClosed()) msg.respond(body)
          } catch {
            // Closed between the check and the publish: the requester times out and retries.
          }
        })
      },
    })
    return subject
  })
}

export const startNatsKvService = (
  config: NatsKvServiceConfig,
): Effect.Effect<NatsKvService, NatsKvServiceError, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.tryPromise({
      try: () =>
        connect({
          ...config.connection,
          servers: [...config.servers],
          ...(config.credsFile === undefined
            ? {}
            : { authenticator: credsAuthenticator(readFileSync(config.credsFile)) }),
        }),
      catch: (e) =>
        new NatsKvServiceError(
          `cannot connect to NATS at ${config.servers.join(",")}: ${e instanceof Error ? e.message : String(e)}`,
        ),
    }),
    (nc) => Effect.promise(() => (nc.isClosed() ? Promise.resolve() : nc.drain().catch(() => undefined))),
  ).pipe(
    Effect.flatMap((nc) =>
      Effect.gen(function* () {
        const kv = serve(nc, config)
        const watch = yield* serveNatsWatches(nc, config.cluster, config.backend)
        // The subscriptions are live on the server once this round trip returns.
        yield* Effect.tryPromise({
          try: () => nc.flush(),
          catch: (e) =>
            new NatsKvServiceError(`cannot subscribe: ${e instanceof Error ? e.message : String(e)}`),
        })
        return { connection: nc, subjects: [...kv, ...watch.subjects] }
      }),
    ),
  )
