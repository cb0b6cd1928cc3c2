/**
 * The two load shapes: closed-loop (N requests always in flight, for peak throughput) and
 * open-loop (requests issued on a fixed schedule, for latency at a given rate). Both stop by
 * themselves after their duration; the open loop also caps in-flight requests so an overloaded
 * system cannot make the benchmark grow without bound.
 */
import { percentile } from "./stats.ts"

/** One request; `slot` is the caller's sequence number (used to pick keys and endpoints). */
export type Op = (slot: number) => Promise<unknown>

export interface ThroughputResult {
  readonly opsPerSec: number
  readonly ops: number
  readonly errors: number
  readonly seconds: number
  readonly firstError: string | null
  /** CPU the benchmark process itself used, in % of one core: shows whether the client was the limit. */
  readonly clientCpuPercent: number
}

/** Keeps `concurrency` requests in flight for warmup + measured time; counts completions after warmup. */
export const closedLoop = async (
  op: Op,
  concurrency: number,
  seconds: number,
  warmupSeconds = 1,
): Promise<ThroughputResult> => {
  const start = performance.now()
  const cpuBefore = process.cpuUsage()
  const measureFrom = start + warmupSeconds * 1000
  const stopAt = measureFrom + seconds * 1000
  let slot = 0
  let ops = 0
  let errors = 0
  let firstError: string | null = null
  const worker = async () => {
    while (performance.now() < stopAt) {
      const mine = slot++
      try {
        await op(mine)
        const now = performance.now()
        if (now >= measureFrom && now < stopAt) ops++
      } catch (error) {
        errors++
        firstError ??= String(error)
      }
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
  const cpu = process.cpuUsage(cpuBefore)
  const clientCpuPercent = ((cpu.user + cpu.system) / 1000 / (performance.now() - start)) * 100
  return { opsPerSec: ops / seconds, ops, errors, seconds, firstError, clientCpuPercent }
}

export interface LatencyResult {
  readonly targetRate: number
  readonly achievedRate: number
  readonly p50Ms: number
  readonly p99Ms: number
  readonly maxMs: number
  readonly ops: number
  readonly errors: number
  /** Requests not issued because `maxInFlight` were already outstanding. */
  readonly skipped: number
}

/**
 * Issues requests at `rate` per second for `seconds`. Latency runs from each request's scheduled
 * time, not its actual send, so a stalled client does not hide queueing (coordinated omission).
 */
export const openLoop = async (
  op: Op,
  rate: number,
  seconds: number,
  maxInFlight = 2000,
): Promise<LatencyResult> => {
  const latencies: number[] = []
  const total = Math.max(1, Math.floor(rate * seconds))
  const intervalMs = 1000 / rate
  const start = performance.now()
  let issued = 0
  let inFlight = 0
  let errors = 0
  let skipped = 0
  const pending: Promise<void>[] = []
  while (issued < total) {
    const now = performance.now()
    while (issued < total && start + issued * intervalMs <= now) {
      const scheduled = start + issued * intervalMs
      const slot = issued++
      if (inFlight >= maxInFlight) {
        skipped++
        continue
      }
      inFlight++
      pending.push(
        op(slot).then(
          () => {
            inFlight--
            latencies.push(performance.now() - scheduled)
          },
          () => {
            inFlight--
            errors++
          },
        ),
      )
    }
    await Bun.sleep(1)
  }
  await Promise.all(pending)
  const elapsed = (performance.now() - start) / 1000
  const sorted = latencies.sort((a, b) => a - b)
  return {
    targetRate: rate,
    achievedRate: latencies.length / elapsed,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    maxMs: sorted.length > 0 ? (sorted[sorted.length - 1] as number) : Number.NaN,
    ops: latencies.length,
    errors,
    skipped,
  }
}
