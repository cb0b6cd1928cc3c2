/**
 * Side-by-side benchmark: a real 3-node etcd 3.4 cluster and a 3-node Lattice cluster (three
 * `lattice start` processes over one nats-server), one after the other in the same run, driven
 * by the same gRPC client. Prints metric | etcd | lattice | ratio and writes the run as JSON to
 * tmp/etcd-compare/last-run.json. See docs/benchmarks.md.
 *
 *   bun bench/etcd-compare/main.ts [--seconds 10] [--clients 64] [--value-size 256]
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { cpus, loadavg, tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { CLIENT_TUNING, tuneRuntimeOrContinue } from "../../src/cli/runtime-tuning.ts"
import { parseOptions, USAGE } from "./lib/args.ts"
import type { Cluster } from "./lib/cluster.ts"
import { ETCD_BINARY, startEtcdCluster } from "./lib/etcd-cluster.ts"
import { startLatticeCluster } from "./lib/lattice-cluster.ts"
import { damonMonitors, damonWarning } from "./lib/machine.ts"
import { measureSystem, type SystemResult } from "./lib/measure.ts"
import { killAll, killAllNow } from "./lib/processes.ts"
import { buildRows, renderTable } from "./lib/report.ts"
import { latticeSourceTree } from "./lib/source-tree.ts"

// The client runs with the allocator tuned as the nodes do (src/cli/runtime-tuning.ts); the nodes
// tune themselves when they start.
await tuneRuntimeOrContinue(CLIENT_TUNING)

const parseOrExit = () => {
  try {
    return parseOptions(process.argv.slice(2))
  } catch (error) {
    console.error(`${error instanceof Error ? error.message : String(error)}\n${USAGE}`)
    process.exit(2)
  }
}
const options = parseOrExit()
const baseDir = mkdtempSync(join(tmpdir(), "lattice-etcd-compare-"))
const outFile = resolve(import.meta.dir, "../../tmp/etcd-compare/last-run.json")

const cleanUpDir = () => {
  if (!options.keep) rmSync(baseDir, { recursive: true, force: true })
}
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    killAllNow()
    cleanUpDir()
    process.exit(130)
  })
}

const etcdVersion = () => {
  const out = Bun.spawnSync([ETCD_BINARY, "--version"]).stdout.toString()
  return out.split("\n")[0]?.trim() ?? "unknown"
}

const run = async (system: "etcd" | "lattice"): Promise<SystemResult> => {
  const dir = join(baseDir, system)
  const cluster: Cluster =
    system === "etcd" ? await startEtcdCluster(dir) : await startLatticeCluster(dir, latticeTree().root)
  try {
    return await measureSystem(cluster, options)
  } finally {
    await cluster.stop()
    // Its files leave the page cache with it: cached pages nobody touches any more still cost
    // the next system, on VMs whose DAMON monitor keeps trying to reclaim cold memory
    // (lib/machine.ts).
    if (!options.keep) rmSync(dir, { recursive: true, force: true })
  }
}

// Exported lazily: only when Lattice is among the systems.
const source: { tree?: { root: string; commit: string } } = {}
const latticeTree = () => {
  source.tree ??= latticeSourceTree(options.latticeRef, join(baseDir, "lattice-src"))
  return source.tree
}

const loadBefore = loadavg()
const damonBefore = damonMonitors()
const startedAt = new Date().toISOString()
const results: Partial<Record<"etcd" | "lattice", SystemResult>> = {}
const errors: Partial<Record<"etcd" | "lattice", string>> = {}
try {
  for (const system of options.systems) {
    try {
      results[system] = await run(system)
    } catch (error) {
      // Keep going: the other system's figures are still worth printing.
      errors[system] = error instanceof Error ? (error.stack ?? error.message) : String(error)
      console.error(`[${system}] failed: ${errors[system]}`)
    }
  }
} finally {
  await killAll()
  cleanUpDir()
}

const rows = buildRows(results.etcd, results.lattice)
console.log(
  `\n3-node clusters on loopback, ${options.clients} requests in flight (${options.target === "spread" ? "round-robin over the 3 endpoints" : "all to the leader"}), ${options.valueSize} B values, ${options.seconds} s per phase`,
)
console.log(renderTable(rows))
const damonAfter = damonMonitors()
const damonNote = damonWarning([...damonBefore, ...damonAfter])
if (damonNote !== null) console.log(damonNote)
const report = {
  startedAt,
  options,
  machine: {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? "unknown",
    loadavgBefore: loadBefore,
    loadavgAfter: loadavg(),
    bun: Bun.version,
    etcd: etcdVersion(),
    damonBefore,
    damonAfter,
  },
  latticeCommit: source.tree?.commit ?? null,
  rows,
  results,
  errors,
}
mkdirSync(resolve(outFile, ".."), { recursive: true })
writeFileSync(
  outFile,
  JSON.stringify(report, (_, v) => (typeof v === "bigint" ? v.toString() : v), 2),
)
console.log(`\nwritten ${outFile}`)
if (Object.keys(errors).length > 0) process.exit(1)
