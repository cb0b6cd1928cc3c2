/**
 * `lattice start`: one node in this process, Raft and forwarding over NATS, the etcd gRPC and
 * HTTP listeners from the configuration, until SIGINT/SIGTERM or `lattice admin shutdown`.
 * A signal stops the node gracefully: a shutdown drain (a leader hands over first) bounded by
 * `[admin] shutdown_grace_period_seconds`, then exit 0; a second signal exits at once.
 */
import { Deferred, Duration, Effect, Option, Runtime } from "effect"
import type { DrainController } from "../../actors/drain.ts"
import { startNatsKvService } from "../adapters/nats/service.ts"
import type { CliIO } from "../cli/framework/types.ts"
import type { NodeConfig } from "../config/resolve.ts"
import { loggingLayer } from "../log/logger.ts"
import { startMetricsListener } from "../metrics/http.ts"
import { makeNatsTransport } from "../transport/nats.ts"
import { startListeners } from "./listeners.ts"
import { watchMembership } from "./membership-notice.ts"
import { startNode } from "./node.ts"
import { nodeOptionsFromConfig } from "./options.ts"
import { exitOnNextSignal, shutdownSignal } from "./shutdown-signal.ts"

export const runNode = (config: NodeConfig, io: CliIO): Effect.Effect<number> =>
  Effect.scoped(
    Effect.gen(function* () {
      const self = config.node.id
      const transport = yield* makeNatsTransport({
        cluster: config.cluster.name,
        self,
        servers: config.nats.urls,
        ...(config.nats.credentials_file === undefined ? {} : { credsFile: config.nats.credentials_file }),
        waitOnFirstConnect: true,
        connectTimeoutMillis: config.nats.connect_timeout_ms,
      })
      const node = yield* startNode(nodeOptionsFromConfig(config), transport)
      // Plain-callback log lines (membership notices, drain steps) go through the same logger.
      const runtime = yield* Effect.runtime<never>()
      const logLine = (line: string) => Runtime.runFork(runtime)(Effect.logInfo(line))
      yield* Effect.forkScoped(watchMembership(node, logLine))
      const listeners = yield* startListeners(node, {
        etcd: config.listeners.etcd,
        http: config.listeners.http,
        maxTxnOps: config.limits.max_txn_ops,
        maxRequestBytes: config.limits.max_request_bytes,
        drainTimeoutMs: config.admin.drain_timeout_seconds * 1000,
        readinessProbeMs: config.admin.readiness_probe_interval_ms,
        readinessMaxAgeMs: config.admin.cp_cache_ttl_seconds * 1000,
        transferTimeoutMs: config.admin.leadership_transfer_timeout_seconds * 1000,
        log: logLine,
      })
      // The NATS request-reply KV service (docs/nats-api.md), on the same NATS servers.
      yield* startNatsKvService({
        cluster: config.cluster.name,
        backend: listeners.backend,
        servers: config.nats.urls,
        maxTxnOps: config.limits.max_txn_ops,
        maxRequestBytes: config.limits.max_request_bytes,
        metrics: node.metrics.adapter("nats"),
        ...(config.nats.credentials_file === undefined ? {} : { credsFile: config.nats.credentials_file }),
      })
      const metricsPort = config.telemetry.metrics_enabled
        ? yield* startMetricsListener(config.telemetry.metrics_bind, node.metrics)
        : null
      const metricsText = metricsPort === null ? "metrics disabled" : `metrics port ${metricsPort}`
      io.stdout(
        `lattice: node ${self} running (etcd gRPC port ${listeners.etcdPort}, http port ${listeners.httpPort}, ${metricsText}, NATS ${config.nats.urls.join(",")})\n`,
      )
      const grace = config.admin.shutdown_grace_period_seconds
      const stop = yield* Effect.raceFirst(
        Effect.map(shutdownSignal, (signal) => ({ signal })),
        Effect.map(Deferred.await(listeners.shutdownRequested), (mode) => ({ mode })),
      )
      if ("signal" in stop) {
        yield* exitOnNextSignal(io.stdout)
        io.stdout(
          `lattice: ${stop.signal}: draining node ${self} before stopping (at most ${grace} s; ${stop.signal} again stops at once)\n`,
        )
        const outcome = yield* drainForShutdown(listeners.drain, grace)
        io.stdout(`lattice: ${outcome}, stopping node ${self}\n`)
      } else {
        io.stdout(`lattice: admin shutdown (${stop.mode}), stopping node ${self}\n`)
      }
      // Closing the scope stops the listeners, the NATS connections and the databases; past the
      // grace period the process exits anyway (a hung connection must not block a restart).
      // An unref'd process timer, not an Effect sleep: it must not keep a finished process alive.
      setTimeout(() => {
        io.stderr(
          `lattice: node ${self} did not stop within shutdown_grace_period_seconds (${grace}); exiting\n`,
        )
        process.exit(0)
      }, grace * 1000).unref()
      return 0
    }).pipe(Effect.annotateLogs({ node: config.node.id })),
  ).pipe(
    Effect.provide(
      loggingLayer({
        level: config.telemetry.log_level,
        format: config.telemetry.log_format,
        write: (line) => io.stderr(`${line}\n`),
      }),
    ),
    Effect.catchAll((e) =>
      Effect.sync(() => {
        io.stderr(`lattice start: ${"message" in e ? e.message : String(e)}\n`)
        return 1
      }),
    ),
  )

/**
 * The drain a signal runs (actors/drain.ts `startForShutdown`: steps 1–5, the node stays a
 * voter), or the admin drain already under way, waited for at most `graceSeconds`.
 */
const drainForShutdown = (drain: DrainController, graceSeconds: number): Effect.Effect<string> =>
  Effect.gen(function* () {
    const before = yield* drain.status
    if (before.state === "drained") return "already drained"
    if (before.state !== "running") yield* Effect.either(drain.startForShutdown)
    const end = yield* drain.awaitEnd.pipe(Effect.timeout(Duration.seconds(graceSeconds)), Effect.option)
    if (Option.isSome(end))
      return end.value.error === null
        ? `drain ${end.value.state}`
        : `drain ${end.value.state}: ${end.value.error}`
    const now = yield* drain.status
    return `drain not finished within shutdown_grace_period_seconds (${graceSeconds}, at step ${now.step ?? "none"})`
  })
