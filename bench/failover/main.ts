/**
 * Failover benchmark: kill -9 the leader of a 3-node cluster N times (default 20) and measure the
 * time from the kill until the first acknowledged put issued after it (a new leader elected and
 * the next write acknowledged), for Lattice (three `lattice start` processes over one nats-server)
 * and, in the same run, a 3-node etcd 3.4 cluster. Prints p50 / p99 / max per system and the
 * ratio; the target for Lattice is p99 ≤ 1 s. Writes the run to tmp/failover/last-run.json.
 *
 *   bun bench/failover/main.ts [--rounds 20] [--systems lattice,etcd] [--lattice-ref HEAD|worktree] [--keep]
 *
 * Between rounds the killed node is restarted and the cluster must take a put through every node
 * again. See docs/benchmarks.md.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { cpus, loadavg, tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { parseArgs } from "node:util"
import { ClusterClient } from "../../src/bench/client.ts"
import { percentile } from "../../src/bench/stats.ts"
import { CLIENT_TUNING, tuneRuntimeOrContinue } from "../../src/cli/runtime-tuning.ts"
import { type Cluster, waitReady } from "../etcd-compare/lib/cluster.ts"
import { startEtcdCluster } from "../etcd-compare/lib/etcd-cluster.ts"
import { type FailoverRound, measureFailover } from "../etcd-compare/lib/failover.ts"
import { startLatticeCluster } from "../etcd-compare/lib/lattice-cluster.ts"
import { killAll, killAllNow } from "../etcd-compare/lib/processes.ts"
import { latticeSourceTree, REPO_ROOT } from "../etcd-compare/lib/source-tree.ts"

// The client runs with the allocator tuned as the nodes do (src/cli/runtime-tuning.ts); the nodes
// tune themselves when they start.
await tuneRuntimeOrContinue(CLIENT_TUNING)

const USAGE =
  "usage: bun bench/failover/main.ts [--rounds 20] [--systems lattice,etcd] [--lattice-ref HEAD|<ref>|worktree] [--keep]"

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    rounds: { type: "string", default: "20" },
    systems: { type: "string", default: "lattice,etcd" },
    "lattice-ref": { type: "string", default: "HEAD" },
    keep: { type: "boolean", default: false },
    help: { type: "boolean", short: "h", default: false },
  },
})
if (values.help) {
  console.log(USAGE)
  process.exit(0)
}
const rounds = Number(values.rounds)
const systems = values.systems.split(",").map((s) => s.trim())
if (!Number.isSafeInteger(rounds) || rounds < 1 || systems.some((s) => s !== "lattice" && s !== "etcd")) {
  console.error(USAGE)
  process.exit(2)
}

const baseDir = mkdtempSync(join(tmpdir(), "lattice-failover-"))
const outFile = resolve(import.meta.dir, "../../tmp/failover/last-run.json")
const cleanUp = () => {
  if (!values.keep) rmSync(baseDir, { recursive: true, force: true })
}
for (const signal of ["SIGINT", "SIGTERM"] as const)
  process.on(signal, () => {
    killAllNow()
    cleanUp()
    process.exit(130)
  })

interface Summary {
  readonly rounds: readonly FailoverRound[]
  readonly p50Ms: number | null
  readonly p99Ms: number | null
  readonly maxMs: number | null
  readonly missing: number
}

const summarize = (rs: readonly FailoverRound[]): Summary => {
  const times = rs.flatMap((r) => (r.failoverMs === null ? [] : [r.failoverMs])).sort((a, b) => a - b)
  const pick = (p: number) => (times.length === 0 ? null : percentile(times, p))
  return { rounds: rs, p50Ms: pick(50), p99Ms: pick(99), maxMs: pick(100), missing: rs.length - times.length }
}

/** The tree the Lattice nodes run from: a clean export of the ref, or this worktree. */
const latticeRoot = (): string =>
  values["lattice-ref"] === "worktree"
    ? REPO_ROOT
    : latticeSourceTree(values["lattice-ref"], join(baseDir, "src")).root

const run = async (system: "lattice" | "etcd"): Promise<Summary> => {
  const dir = join(baseDir, system)
  const cluster: Cluster =
    system === "etcd" ? await startEtcdCluster(dir) : await startLatticeCluster(dir, latticeRoot())
  const client = new ClusterClient(cluster.endpoints)
  try {
    await waitReady(client, system)
    console.log(`[${system}] ${rounds} leader kills`)
    const rs = await measureFailover(cluster, client, rounds, new Uint8Array(256))
    for (const [i, r] of rs.entries())
      console.log(
        `  round ${i + 1}: killed node ${r.killedNode + 1}${r.killedAt === undefined ? "" : ` at ${r.killedAt}`}, ${r.failoverMs === null ? "no ack in 15 s" : `${r.failoverMs.toFixed(0)} ms`}${r.error === undefined ? "" : ` (${r.error})`}`,
      )
    return summarize(rs)
  } finally {
    client.close()
    await cluster.stop()
  }
}

const results: Partial<Record<string, Summary>> = {}
const loadBefore = loadavg()
try {
  for (const system of systems as ("lattice" | "etcd")[]) {
    try {
      results[system] = await run(system)
    } catch (error) {
      console.error(
        `[${system}] failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
      )
    }
  }
} finally {
  await killAll()
  cleanUp()
}

const fmt = (v: number | null | undefined) => (v === null || v === undefined ? "-" : `${v.toFixed(0)} ms`)
const ratio = (a: number | null | undefined, b: number | null | undefined) =>
  a === null || a === undefined || b === null || b === undefined || b === 0 ? "-" : `${(a / b).toFixed(2)}x`
const l = results.lattice
const e = results.etcd
console.log("\nkill -9 of the leader → next write acknowledged (3 nodes, loopback)")
console.log("metric | lattice | etcd | lattice/etcd")
for (const [name, key] of [
  ["p50", "p50Ms"],
  ["p99", "p99Ms"],
  ["max", "maxMs"],
] as const)
  console.log(`${name} | ${fmt(l?.[key])} | ${fmt(e?.[key])} | ${ratio(l?.[key], e?.[key])}`)
console.log(`rounds without an ack in 15 s | ${l?.missing ?? "-"} | ${e?.missing ?? "-"} |`)
if (l?.p99Ms !== null && l?.p99Ms !== undefined)
  console.log(`lattice p99 target ≤ 1000 ms: ${l.p99Ms <= 1000 ? "met" : "NOT met"}`)
console.log(
  `load average before ${loadBefore.map((x) => x.toFixed(1)).join(" ")}, after ${loadavg()
    .map((x) => x.toFixed(1))
    .join(" ")} (${cpus().length} CPUs)`,
)
mkdirSync(resolve(outFile, ".."), { recursive: true })
writeFileSync(
  outFile,
  JSON.stringify(
    { startedAt: new Date().toISOString(), rounds, loadBefore, loadAfter: loadavg(), results },
    null,
    2,
  ),
)
console.log(`written ${outFile}`)
if (l === undefined || (systems.includes("etcd") && e === undefined)) process.exit(1)
