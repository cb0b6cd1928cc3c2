/** Command-line options of bench/etcd-compare/main.ts. */
import { parseArgs } from "node:util"

export type Target = "spread" | "leader"

export interface Options {
  /** Measured seconds per throughput/latency phase. */
  readonly seconds: number
  /**
   * Unmeasured seconds of the same load before each throughput phase, for both systems: Bun's
   * JIT keeps compiling Lattice's hot paths for tens of seconds (its JIT threads took a third of
   * the leader's CPU 10-15 s into a put run), so a short warm-up measures the compiler.
   */
  readonly warmup: number
  /** Requests kept in flight by the closed-loop phases. */
  readonly clients: number
  readonly valueSize: number
  /** Distinct keys the put phases cycle through. */
  readonly keys: number
  readonly failovers: number
  /** A put rate (ops/s) both systems are also measured at, so their latencies compare like for like; 0 = off. */
  readonly commonRate: number
  readonly systems: readonly ("etcd" | "lattice")[]
  /** spread: round-robin over the 3 endpoints; leader: every request to the leader's endpoint. */
  readonly target: Target
  /** Git ref the Lattice nodes run from (exported to the temp dir), or "worktree". */
  readonly latticeRef: string
  /** Keep the temp data dirs and logs. */
  readonly keep: boolean
}

export const USAGE = `usage: bun bench/etcd-compare/main.ts [--seconds 10] [--warmup 5] [--clients 64] [--value-size 256]
  [--keys 1000] [--failovers 3] [--common-rate 50] [--systems etcd,lattice] [--target spread|leader]
  [--lattice-ref HEAD|<ref>|worktree] [--keep]`

export const parseOptions = (argv: readonly string[]): Options => {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      seconds: { type: "string", default: "10" },
      warmup: { type: "string", default: "5" },
      clients: { type: "string", default: "64" },
      "value-size": { type: "string", default: "256" },
      keys: { type: "string", default: "1000" },
      failovers: { type: "string", default: "3" },
      "common-rate": { type: "string", default: "50" },
      systems: { type: "string", default: "etcd,lattice" },
      target: { type: "string", default: "spread" },
      "lattice-ref": { type: "string", default: "HEAD" },
      keep: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  })
  if (values.help) {
    console.log(USAGE)
    process.exit(0)
  }
  const positive = (name: string, raw: string, min = 1): number => {
    const n = Number(raw)
    if (!Number.isFinite(n) || n < min) throw new Error(`--${name} must be a number >= ${min}, got ${raw}`)
    return n
  }
  const systems = values.systems.split(",").map((s) => s.trim())
  for (const s of systems) if (s !== "etcd" && s !== "lattice") throw new Error(`unknown system ${s}`)
  if (values.target !== "spread" && values.target !== "leader")
    throw new Error("--target is spread or leader")
  return {
    seconds: positive("seconds", values.seconds),
    warmup: positive("warmup", values.warmup, 0),
    clients: Math.floor(positive("clients", values.clients)),
    valueSize: Math.floor(positive("value-size", values["value-size"], 0)),
    keys: Math.floor(positive("keys", values.keys)),
    failovers: Math.floor(positive("failovers", values.failovers, 0)),
    commonRate: positive("common-rate", values["common-rate"], 0),
    systems: systems as ("etcd" | "lattice")[],
    target: values.target,
    latticeRef: values["lattice-ref"],
    keep: values.keep,
  }
}
