/**
 * The `lattice benchmark` workload: put, get or a put/get mix over a fixed key set, driven by the
 * same closed loop and client as bench/etcd-compare (load.ts, client.ts), so the numbers compare.
 * Every completed request's latency is recorded; a progress callback fires once per second.
 */
import { ClusterClient } from "./client.ts"
import { closedLoop } from "./load.ts"
import { percentile } from "./stats.ts"

export type Workload = "put" | "get" | "mixed"

export interface WorkloadOptions {
  readonly workload: Workload
  readonly endpoints: readonly string[]
  readonly keys: number
  readonly valueSize: number
  readonly concurrency: number
  /** Share of gets in a mixed run, 0..1. */
  readonly readRatio: number
  readonly seconds: number
  readonly serializable: boolean
}

export interface Progress {
  readonly elapsedSeconds: number
  readonly ops: number
  /** Completions in the last interval, per second. */
  readonly rate: number
}

export interface WorkloadResult {
  readonly workload: Workload
  readonly seconds: number
  readonly ops: number
  readonly opsPerSec: number
  readonly latencyMs: {
    readonly p50: number
    readonly p90: number
    readonly p99: number
    readonly p999: number
  }
  readonly errors: number
  /** The first distinct error messages, at most five. */
  readonly firstErrors: readonly string[]
}

const MAX_ERROR_MESSAGES = 5

const errorMessage = (error: unknown): string => {
  const e = error as { details?: unknown; message?: unknown }
  return typeof e?.details === "string" && e.details !== ""
    ? e.details
    : typeof e?.message === "string"
      ? e.message
      : String(error)
}

/** The endpoints that answer a Status call within `timeoutMs`. */
export const reachableEndpoints = async (client: ClusterClient, timeoutMs = 2000): Promise<string[]> => {
  const answers = await Promise.all(
    client.endpoints.map((e) =>
      e.status(timeoutMs).then(
        () => e.address,
        () => null,
      ),
    ),
  )
  return answers.filter((a): a is string => a !== null)
}

export const runWorkload = async (
  options: WorkloadOptions,
  onProgress: (p: Progress) => void = () => {},
  client: ClusterClient = new ClusterClient(options.endpoints),
): Promise<WorkloadResult> => {
  const value = new Uint8Array(options.valueSize).fill(0x61)
  const keys = Array.from({ length: options.keys }, (_, i) => Buffer.from(`bench/key/${i}`))
  const latencies: number[] = []
  const firstErrors: string[] = []
  const put = (slot: number) => client.pick().put({ key: keys[slot % keys.length], value })
  const get = (slot: number) =>
    client.pick().range({ key: keys[slot % keys.length], serializable: options.serializable })
  // Deterministic mix: in every 1000 consecutive slots, readRatio * 1000 are gets.
  const readsPerThousand = Math.round(options.readRatio * 1000)
  const choose =
    options.workload === "put"
      ? put
      : options.workload === "get"
        ? get
        : (slot: number) => ((slot * 7919) % 1000 < readsPerThousand ? get(slot) : put(slot))
  const op = async (slot: number) => {
    const started = performance.now()
    try {
      await choose(slot)
    } catch (error) {
      const message = errorMessage(error)
      if (firstErrors.length < MAX_ERROR_MESSAGES && !firstErrors.includes(message)) firstErrors.push(message)
      throw error
    }
    latencies.push(performance.now() - started)
  }
  const startedAt = performance.now()
  let lastOps = 0
  let lastAt = startedAt
  const ticker = setInterval(() => {
    const now = performance.now()
    const ops = latencies.length
    onProgress({
      elapsedSeconds: (now - startedAt) / 1000,
      ops,
      rate: ((ops - lastOps) * 1000) / (now - lastAt),
    })
    lastOps = ops
    lastAt = now
  }, 1000)
  try {
    // No warmup: every request of the run counts, as the user asked for `seconds` of load.
    const result = await closedLoop(op, options.concurrency, options.seconds, 0)
    const sorted = latencies.sort((a, b) => a - b)
    return {
      workload: options.workload,
      seconds: options.seconds,
      ops: result.ops,
      opsPerSec: result.opsPerSec,
      latencyMs: {
        p50: percentile(sorted, 50),
        p90: percentile(sorted, 90),
        p99: percentile(sorted, 99),
        p999: percentile(sorted, 99.9),
      },
      errors: result.errors,
      firstErrors,
    }
  } finally {
    clearInterval(ticker)
  }
}

/** Writes every key once so gets find a value (get and mixed runs); `onProgress` gets the count once a second. */
export const preloadKeys = async (
  client: ClusterClient,
  keys: number,
  valueSize: number,
  concurrency: number,
  onProgress: (written: number) => void = () => {},
) => {
  const value = new Uint8Array(valueSize).fill(0x61)
  let next = 0
  let written = 0
  const worker = async () => {
    while (next < keys) {
      const i = next++
      await client.pick().put({ key: Buffer.from(`bench/key/${i}`), value })
      written++
    }
  }
  const ticker = setInterval(() => onProgress(written), 1000)
  try {
    await Promise.all(Array.from({ length: Math.min(concurrency, keys) }, worker))
  } finally {
    clearInterval(ticker)
  }
}
