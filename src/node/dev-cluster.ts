/**
 * `lattice dev`: the validated node configurations run as one in-process cluster over the
 * in-memory transport, with real SQLite files and real gRPC/HTTP listeners, until Ctrl-C.
 */
import { Effect } from "effect"
import type { CliIO } from "../cli/framework/types.ts"
import type { NodeConfig } from "../config/resolve.ts"
import { loggingLayer } from "../log/logger.ts"
import { LocalCluster } from "./local-cluster.ts"
import { nodeOptionsFromConfig } from "./options.ts"
import { shutdownSignal } from "./shutdown-signal.ts"

export const devBanner = (configs: ReadonlyArray<NodeConfig>): string => {
  const etcd = configs.map((c) => c.listeners.etcd).join(",")
  const http = configs[0]?.listeners.http ?? "127.0.0.1:2378"
  const lines = [
    "",
    `lattice dev: ${configs.length} node(s) up`,
    ...configs.map(
      (c) =>
        `  ${c.node.id}: etcd ${c.listeners.etcd}  http ${c.listeners.http}  metrics ${c.telemetry.metrics_enabled ? c.telemetry.metrics_bind : "off"}  data ${c.node.data_dir}`,
    ),
    "",
    "Try:",
    `  ETCDCTL_API=3 etcdctl --endpoints=${etcd} put foo bar`,
    `  ETCDCTL_API=3 etcdctl --endpoints=${etcd} get foo`,
    `  ETCDCTL_API=3 etcdctl --endpoints=${etcd} endpoint status -w table`,
    `  curl -s http://${http}/v3/kv/put -d '{"key":"Zm9v","value":"YmFy"}'`,
    `  curl -s http://${http}/v3/kv/range -d '{"key":"Zm9v"}'`,
    `  curl -s http://${http}/v1/status`,
    `  curl -s http://${configs[0]?.telemetry.metrics_bind ?? "127.0.0.1:9090"}/metrics | grep ^cluster_`,
    `  lattice status --endpoints ${configs.map((c) => `http://${c.listeners.http}`).join(",")}`,
    `  lattice benchmark 10 --endpoints ${etcd}`,
    "Ctrl-C stops the cluster.",
    "",
  ]
  return lines.join("\n")
}

export const runDevCluster = (configs: ReadonlyArray<NodeConfig>, io: CliIO): Effect.Effect<number> =>
  Effect.gen(function* () {
    const clientUrls = Object.fromEntries(configs.map((c) => [c.node.id, [`http://${c.listeners.etcd}`]]))
    const cluster = new LocalCluster(
      configs.map((c) => ({
        options: nodeOptionsFromConfig(c, { clientUrls }),
        listeners: {
          etcd: c.listeners.etcd,
          http: c.listeners.http,
          maxTxnOps: c.limits.max_txn_ops,
          maxRequestBytes: c.limits.max_request_bytes,
        },
        ...(c.telemetry.metrics_enabled ? { metricsBind: c.telemetry.metrics_bind } : {}),
      })),
      1,
      loggingLayer({
        level: configs[0]?.telemetry.log_level ?? "info",
        format: configs[0]?.telemetry.log_format ?? "text",
        write: (line) => io.stderr(`${line}\n`),
      }),
    )
    const started = yield* Effect.either(Effect.tryPromise(() => cluster.startAll()))
    if (started._tag === "Left") {
      yield* Effect.promise(() => cluster.stopAll())
      io.stderr(`lattice dev: ${String(started.left.error)}\n`)
      return 1
    }
    io.stdout(devBanner(configs))
    yield* Effect.fork(
      Effect.tryPromise(() => cluster.awaitLeader(30_000)).pipe(
        Effect.tap((leader) => Effect.sync(() => io.stdout(`leader elected: ${leader}\n`))),
        Effect.ignore,
      ),
    )
    const signal = yield* shutdownSignal
    io.stdout(`\nlattice dev: ${signal}, stopping…\n`)
    yield* Effect.promise(() => cluster.stopAll())
    io.stdout("lattice dev: stopped\n")
    return 0
  })
