/** The comparison table (metric | etcd | lattice | ratio) and its JSON form. */
import type { SystemResult } from "./measure.ts"

export interface Row {
  readonly metric: string
  readonly unit: string
  /** Which way is better, so the ratio can be read. */
  readonly better: "higher" | "lower"
  readonly etcd: number | null
  readonly lattice: number | null
  /** lattice / etcd */
  readonly ratio: number | null
}

type Pick = (r: SystemResult) => number | null

const METRICS: readonly (readonly [string, string, "higher" | "lower", Pick])[] = [
  ["put throughput", "ops/s", "higher", (r) => r.put.opsPerSec],
  ["linearizable range throughput", "ops/s", "higher", (r) => r.linearizableRange.opsPerSec],
  ["serializable range throughput", "ops/s", "higher", (r) => r.serializableRange.opsPerSec],
  ["put p50 at half own peak", "ms", "lower", (r) => r.putLatency.p50Ms],
  ["put p99 at half own peak", "ms", "lower", (r) => r.putLatency.p99Ms],
  ["put p50 at the common rate", "ms", "lower", (r) => r.putLatencyCommon?.p50Ms ?? null],
  ["put p99 at the common rate", "ms", "lower", (r) => r.putLatencyCommon?.p99Ms ?? null],
  ["failover median", "ms", "lower", (r) => r.failoverMedianMs],
  ["failover max", "ms", "lower", (r) => r.failoverMaxMs],
]

export const buildRows = (etcd: SystemResult | undefined, lattice: SystemResult | undefined): Row[] =>
  METRICS.map(([metric, unit, better, pick]) => {
    const e = etcd ? pick(etcd) : null
    const l = lattice ? pick(lattice) : null
    const ratio = e !== null && l !== null && e > 0 && Number.isFinite(e) && Number.isFinite(l) ? l / e : null
    return { metric, unit, better, etcd: e, lattice: l, ratio }
  })

const fmt = (n: number | null, digits: number): string =>
  n === null || !Number.isFinite(n) ? "-" : n.toFixed(digits)

export const renderTable = (rows: readonly Row[]): string => {
  const lines = [
    ["metric", "etcd", "lattice", "ratio (lattice/etcd)"],
    ...rows.map((r) => [
      `${r.metric} (${r.unit}, ${r.better} is better)`,
      fmt(r.etcd, r.unit === "ms" ? 2 : 0),
      fmt(r.lattice, r.unit === "ms" ? 2 : 0),
      fmt(r.ratio, 2),
    ]),
  ]
  const widths = [0, 1, 2, 3].map((c) => Math.max(...lines.map((l) => (l[c] as string).length)))
  const row = (cells: readonly string[]) =>
    `| ${cells.map((cell, c) => (c === 0 ? cell.padEnd(widths[c] as number) : cell.padStart(widths[c] as number))).join(" | ")} |`
  return [
    row(lines[0] as string[]),
    `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`,
    ...lines.slice(1).map(row),
  ].join("\n")
}
