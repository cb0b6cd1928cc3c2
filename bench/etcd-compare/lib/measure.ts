/** Runs every phase against one started cluster, with the shared client. */

import { ClusterClient, type EndpointClient } from "../../../src/bench/client.ts"
import { closedLoop, type LatencyResult, openLoop, type ThroughputResult } from "../../../src/bench/load.ts"
import { median } from "../../../src/bench/stats.ts"
import type { Options } from "./args.ts"
import { type Cluster, findLeader, waitReady } from "./cluster.ts"
import { type FailoverRound, measureFailover } from "./failover.ts"

export interface SystemResult {
  readonly system: string
  readonly target: string
  readonly put: ThroughputResult
  readonly linearizableRange: ThroughputResult
  readonly serializableRange: ThroughputResult
  readonly putLatency: LatencyResult
  /** Put latency at options.commonRate, the same rate for both systems (null when off). */
  readonly putLatencyCommon: LatencyResult | null
  readonly failover: readonly FailoverRound[]
  readonly failoverMedianMs: number | null
  readonly failoverMaxMs: number | null
}

const READ_KEY = Buffer.from("bench/read")

const log = (system: string, message: string) => console.error(`[${system}] ${message}`)

export const measureSystem = async (cluster: Cluster, options: Options): Promise<SystemResult> => {
  const client = new ClusterClient(cluster.endpoints)
  try {
    await waitReady(client, cluster.system, 60_000)
    const value = new Uint8Array(options.valueSize).fill(0x61)
    const keys = Array.from({ length: options.keys }, (_, i) => Buffer.from(`bench/key/${i}`))
    let endpoint: () => EndpointClient = () => client.pick()
    if (options.target === "leader") {
      const leader = await findLeader(client)
      const fixed = client.endpoints[leader < 0 ? 0 : leader] as EndpointClient
      endpoint = () => fixed
    }
    const put = (slot: number) => endpoint().put({ key: keys[slot % keys.length], value })

    log(
      cluster.system,
      `put throughput, ${options.clients} in flight, ${options.warmup} s warm-up + ${options.seconds} s`,
    )
    const putResult = await closedLoop(put, options.clients, options.seconds, options.warmup)
    log(
      cluster.system,
      `  ${putResult.opsPerSec.toFixed(0)} ops/s (${putResult.errors} errors, client CPU ${putResult.clientCpuPercent.toFixed(0)}%)`,
    )

    await client.endpoints[0]?.put({ key: READ_KEY, value })
    log(cluster.system, "linearizable range throughput")
    const linResult = await closedLoop(
      () => endpoint().range({ key: READ_KEY, serializable: false }),
      options.clients,
      options.seconds,
      options.warmup,
    )
    log(
      cluster.system,
      `  ${linResult.opsPerSec.toFixed(0)} ops/s (${linResult.errors} errors, client CPU ${linResult.clientCpuPercent.toFixed(0)}%)`,
    )

    log(cluster.system, "serializable range throughput")
    const serResult = await closedLoop(
      () => endpoint().range({ key: READ_KEY, serializable: true }),
      options.clients,
      options.seconds,
      options.warmup,
    )
    log(
      cluster.system,
      `  ${serResult.opsPerSec.toFixed(0)} ops/s (${serResult.errors} errors, client CPU ${serResult.clientCpuPercent.toFixed(0)}%)`,
    )

    const halfPeak = Math.max(1, putResult.opsPerSec / 2)
    log(cluster.system, `put latency, open loop at ${halfPeak.toFixed(0)}/s`)
    const latency = await openLoop(put, halfPeak, options.seconds)
    log(cluster.system, `  p50 ${latency.p50Ms.toFixed(2)} ms, p99 ${latency.p99Ms.toFixed(2)} ms`)

    let common: LatencyResult | null = null
    if (options.commonRate > 0) {
      log(cluster.system, `put latency, open loop at the common rate ${options.commonRate}/s`)
      common = await openLoop(put, options.commonRate, options.seconds)
      log(cluster.system, `  p50 ${common.p50Ms.toFixed(2)} ms, p99 ${common.p99Ms.toFixed(2)} ms`)
    }

    log(cluster.system, `failover x${options.failovers}`)
    const failover = await measureFailover(cluster, client, options.failovers, value)
    for (const round of failover)
      log(
        cluster.system,
        `  killed node ${round.killedNode}: ${round.failoverMs?.toFixed(0)} ms ${round.error ?? ""}`,
      )
    const times = failover.flatMap((r) => (r.failoverMs === null ? [] : [r.failoverMs]))
    const anyMissing = times.length < failover.length
    return {
      system: cluster.system,
      target: options.target,
      put: putResult,
      linearizableRange: linResult,
      serializableRange: serResult,
      putLatency: latency,
      putLatencyCommon: common,
      failover,
      failoverMedianMs: times.length === 0 ? null : median(times),
      failoverMaxMs: times.length === 0 || anyMissing ? null : Math.max(...times),
    }
  } finally {
    client.close()
  }
}
