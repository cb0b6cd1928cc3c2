/**
 * Profiles a 3-node Lattice cluster under the benchmark's load: every node runs with Bun's CPU
 * profiler, the load (puts, then linearizable ranges, then serializable ranges, each closed-loop
 * to the leader) runs for `--seconds` each, then the nodes get SIGTERM so they write their
 * profiles (Markdown, grep-friendly) into `--out`.
 *
 *   bun bench/etcd-compare/profile.ts [--seconds 5] [--warmup 2] [--clients 64] [--rate R] [--phases idle,put,lin,ser] [--out tmp/profile] [--profiler on|json|off] [--histograms] [--lattice-ref worktree|REF]
 *
 * It also prints the CPU time each node used per operation (from /proc): on a shared machine
 * that moves far less than throughput does.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { parseArgs } from "node:util"
import { ClusterClient, type EndpointClient } from "../../src/bench/client.ts"
import { closedLoop, type LatencyResult, openLoop } from "../../src/bench/load.ts"
import { CLIENT_TUNING, RUNTIME_TUNING, tuneRuntimeOrContinue } from "../../src/cli/runtime-tuning.ts"
import { findLeader, waitReady } from "./lib/cluster.ts"
import { startLatticeCluster } from "./lib/lattice-cluster.ts"
import { killAll } from "./lib/processes.ts"
import { latticeSourceTree } from "./lib/source-tree.ts"

// The client runs with the allocator tuned as the nodes do (src/cli/runtime-tuning.ts); the nodes
// tune themselves when they start.
await tuneRuntimeOrContinue(CLIENT_TUNING)

/** CPU time (user + system) a process has used, in ms, from /proc (Linux). */
const cpuMs = (pid: number): number => {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? []
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100
}

/** Read and write system calls a process has made so far, from /proc (Linux). */
const syscalls = (pid: number): [number, number] => {
  const fields = new Map(
    readFileSync(`/proc/${pid}/io`, "utf8")
      .split("\n")
      .map((line) => line.split(": ") as [string, string]),
  )
  return [Number(fields.get("syscr") ?? 0), Number(fields.get("syscw") ?? 0)]
}

/** A process's resident memory in bytes, from /proc (Linux). */
const residentBytes = (pid: number): number => {
  const pages = Number(readFileSync(`/proc/${pid}/statm`, "utf8").split(" ")[1] ?? 0)
  return pages * 4096
}

/** nats-server's message and byte counters, in and out (its /varz). */
const natsCounters = async (monitor: string): Promise<[number, number, number, number]> => {
  const v = (await fetch(`${monitor}/varz`)
    .then((r) => r.json())
    .catch(() => ({}))) as Record<string, number | undefined>
  return [v.in_msgs ?? 0, v.out_msgs ?? 0, v.in_bytes ?? 0, v.out_bytes ?? 0]
}

/** This process's CPU time (user + system) so far, in ms. */
const ownCpuMs = (): number => {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1000
}

/** The counters that say how much Raft work one client operation caused, summed over groups. */
const TRAFFIC = [
  "lattice_raft_proposals_total",
  "cluster_state_replications_total",
  "cluster_heartbeats_sent_total",
  "lattice_wal_writes_total",
] as const
const traffic = async (url: string): Promise<number[]> => {
  const text = await fetch(`${url}/metrics`)
    .then((r) => r.text())
    .catch(() => "")
  return TRAFFIC.map((name) =>
    text
      .split("\n")
      .filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `))
      .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(" ") + 1)), 0),
  )
}

/** Every histogram's `_sum` and `_count` (summed over label sets), by histogram name. */
const histogramSums = async (url: string): Promise<Map<string, { sum: number; count: number }>> => {
  if (values.histograms !== true) return new Map()
  const text = await fetch(`${url}/metrics`)
    .then((r) => r.text())
    .catch(() => "")
  const out = new Map<string, { sum: number; count: number }>()
  for (const line of text.split("\n")) {
    const m = /^([a-z_:]+)_(sum|count)(\{[^}]*\})? ([0-9.e+-]+)$/.exec(line)
    if (m === null) continue
    const h = out.get(m[1]!) ?? { sum: 0, count: 0 }
    if (m[2] === "sum") h.sum += Number(m[4])
    else h.count += Number(m[4])
    out.set(m[1]!, h)
  }
  return out
}

/** Mean of each histogram that moved during a phase, per node (ms for `_seconds` histograms). */
const printHistogramMeans = (
  phase: string,
  before: readonly Map<string, { sum: number; count: number }>[],
  after: readonly Map<string, { sum: number; count: number }>[],
) => {
  if (values.histograms !== true) return
  const names = new Set(after.flatMap((m) => [...m.keys()]))
  for (const name of [...names].sort()) {
    const cells = after.map((m, i) => {
      const a = m.get(name)
      const b = before[i]?.get(name) ?? { sum: 0, count: 0 }
      if (a === undefined || a.count === b.count) return "-"
      const mean = (a.sum - b.sum) / (a.count - b.count)
      return `${name.endsWith("_seconds") ? (mean * 1000).toFixed(2) : mean.toFixed(1)} (${a.count - b.count})`
    })
    if (cells.every((c) => c === "-")) continue
    console.error(`  ${phase} mean ${name}: ${cells.join(" | ")}`)
  }
}

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    seconds: { type: "string", default: "5" },
    warmup: { type: "string", default: "2" },
    rate: { type: "string", default: "0" },
    clients: { type: "string", default: "64" },
    phases: { type: "string", default: "put,lin,ser" },
    out: { type: "string", default: "tmp/profile" },
    profiler: { type: "string", default: "on" },
    histograms: { type: "boolean", default: false },
    "lattice-ref": { type: "string", default: "worktree" },
    "node-env": { type: "string", multiple: true, default: [] },
    "node-bun-args": { type: "string", default: "" },
    help: { type: "boolean", short: "h", default: false },
  },
})
if (values.help) {
  console.log(
    "usage: bun bench/etcd-compare/profile.ts [--seconds 5] [--warmup 2] [--clients 64] [--rate R] [--phases idle,put,lin,ser] [--out tmp/profile] [--profiler on|json|off] [--histograms] [--lattice-ref worktree|REF] [--node-env NAME=VALUE]... [--node-bun-args=--smol]\n" +
      "Runs the nodes (the working tree, or an export of git REF) under Bun's CPU profiler; writes one Markdown\n" +
      "profile per node to --out (--profiler json: a Chrome .cpuprofile with whole stacks instead), and prints each phase's throughput and the CPU time each node spent per operation\n" +
      "(--histograms: also the mean of every Prometheus histogram that moved, per node; the client's mean put latency is always printed).\n" +
      '--node-env sets a variable for the nodes only (for example MIMALLOC_PURGE_DELAY=10); --node-bun-args=FLAGS passes flags to Bun before the nodes\' script (with "=", as the value starts with --).',
  )
  process.exit(0)
}
const seconds = Number(values.seconds)
const clients = Number(values.clients)
const warmup = Number(values.warmup)
// --rate R: each phase issues R requests per second (open loop) instead of keeping --clients in
// flight; the same work in both A/B runs, so node CPU compares even on a busy machine.
const rate = Number(values.rate)

const fromOpenLoop = (r: LatencyResult, secs: number) => ({
  ...r,
  opsPerSec: r.achievedRate,
  seconds: secs,
  firstError: r.errors > 0 ? "(open loop: errors counted, not kept)" : null,
})
const phases = new Set(values.phases.split(","))
const out = resolve(values.out)
mkdirSync(out, { recursive: true })
const base = mkdtempSync(join(tmpdir(), "lattice-profile-"))
const tree = latticeSourceTree(values["lattice-ref"], join(base, "lattice-src"))
console.error(`lattice: ${tree.commit}`)
const profiling = values.profiler !== "off"
const nodeEnv = Object.fromEntries(
  values["node-env"].map((pair) => {
    const at = pair.indexOf("=")
    if (at <= 0) {
      console.error(`--node-env takes NAME=VALUE, got ${JSON.stringify(pair)}`)
      process.exit(2)
    }
    return [pair.slice(0, at), pair.slice(at + 1)]
  }),
)
const cluster = await startLatticeCluster(
  join(base, "cluster"),
  tree.root,
  3,
  [
    ...values["node-bun-args"].split(" ").filter((a) => a !== ""),
    ...(profiling
      ? [values.profiler === "json" ? "--cpu-prof" : "--cpu-prof-md", `--cpu-prof-dir=${out}`]
      : []),
  ],
  // Under the profiler a node's in-place re-execution (runtime-tuning.ts) sometimes kills it
  // before it prints anything, so profiled nodes get their tuning in the environment up front.
  profiling || Object.keys(nodeEnv).length > 0
    ? { ...process.env, ...(profiling ? RUNTIME_TUNING : {}), ...nodeEnv }
    : undefined,
)
const client = new ClusterClient(cluster.endpoints)
try {
  await waitReady(client, "lattice", 60_000)
  const leader = await findLeader(client)
  const ep = client.endpoints[Math.max(0, leader)] as EndpointClient
  console.error(`leader: n${leader + 1} (profiles in ${out})`)
  const value = new Uint8Array(256).fill(0x61)
  const keys = Array.from({ length: 1000 }, (_, i) => Buffer.from(`bench/key/${i}`))
  await ep.put({ key: Buffer.from("bench/read"), value })
  let idleMsPerSec: number[] | null = null
  const run = async (name: string, op: (slot: number) => Promise<unknown>) => {
    if (!phases.has(name)) return
    // Untimed warm-up first (JIT, connections), so a short phase measures the steady state.
    if (warmup > 0) await closedLoop(op, clients, warmup, 0)
    const before = cluster.pids().map(cpuMs)
    const natsBefore = cpuMs(cluster.natsPid)
    const natsCountersBefore = await natsCounters(cluster.natsMonitor)
    const clientBefore = ownCpuMs()
    const syscallsBefore = cluster.pids().map(syscalls)
    const trafficBefore = await Promise.all(cluster.httpEndpoints.map(traffic))
    const histogramsBefore = await Promise.all(cluster.httpEndpoints.map(histogramSums))
    const r =
      rate > 0
        ? fromOpenLoop(await openLoop(op, rate, seconds), seconds)
        : await closedLoop(op, clients, seconds, 0)
    const used = cluster.pids().map((pid, i) => cpuMs(pid) - (before[i] ?? 0))
    const natsUsed = cpuMs(cluster.natsPid) - natsBefore
    const natsCountersAfter = await natsCounters(cluster.natsMonitor)
    const natsPer1000 = natsCountersAfter.map((after, k) =>
      (((after - (natsCountersBefore[k] ?? 0)) * (k < 2 ? 1000 : 1)) / Math.max(1, r.ops)).toFixed(0),
    )
    const clientUsed = ownCpuMs() - clientBefore
    const syscallsUsed = cluster.pids().map((pid, i) => {
      const [r0, w0] = syscallsBefore[i] ?? [0, 0]
      const [r1, w1] = syscalls(pid)
      return `${(((r1 - r0) * 1000) / Math.max(1, r.ops)).toFixed(0)}r+${(((w1 - w0) * 1000) / Math.max(1, r.ops)).toFixed(0)}w`
    })
    const trafficAfter = await Promise.all(cluster.httpEndpoints.map(traffic))
    const histogramsAfter = await Promise.all(cluster.httpEndpoints.map(histogramSums))
    printHistogramMeans(name, histogramsBefore, histogramsAfter)
    const perOp = used.map((ms) => ((ms / Math.max(1, r.ops)) * 1000).toFixed(0)).join("/")
    // With an idle phase first: the same minus what each node burns doing nothing (ticks,
    // heartbeats), which on a starved machine dominates the per-op figure.
    const idle = idleMsPerSec
    const net =
      idle === null
        ? ""
        : `; net of idle: ${used
            .map((ms, i) => (((ms - (idle[i] ?? 0) * r.seconds) / Math.max(1, r.ops)) * 1000).toFixed(0))
            .join("/")}`
    const latency =
      "p99Ms" in r
        ? ` p50 ${r.p50Ms.toFixed(2)} ms p99 ${r.p99Ms.toFixed(2)} ms max ${r.maxMs.toFixed(0)} ms;`
        : ""
    console.error(
      `${name}: ${r.opsPerSec.toFixed(0)} ops/s (${r.errors} errors);${latency} node CPU per op (µs, n1/n2/n3): ${perOp}${net}`,
    )
    // Per 1000 operations, on the leader: proposals, append messages carrying entries,
    // heartbeats, and fsynced log transactions (followers' in brackets).
    const per1000 = (node: number) =>
      TRAFFIC.map((_, k) =>
        (
          (((trafficAfter[node]?.[k] ?? 0) - (trafficBefore[node]?.[k] ?? 0)) * 1000) /
          Math.max(1, r.ops)
        ).toFixed(0),
      )
    const lead = per1000(Math.max(0, leader))
    const followerFsyncs = cluster.httpEndpoints
      .map((_, i) => i)
      .filter((i) => i !== leader)
      .map((i) => per1000(i)[3])
    console.error(
      `  per 1000 ops on the leader: ${lead[0]} proposals, ${lead[1]} appends with entries, ${lead[2]} heartbeats, ${lead[3]} log fsyncs (followers: ${followerFsyncs.join("/")})`,
    )
    const rssMb = cluster.pids().map((pid) => (residentBytes(pid) / 2 ** 20).toFixed(0))
    // The rest of the machine's CPU per operation, and each node's read/write system calls.
    console.error(
      `  CPU per op (µs): nats-server ${((natsUsed / Math.max(1, r.ops)) * 1000).toFixed(0)}, this client ${((clientUsed / Math.max(1, r.ops)) * 1000).toFixed(0)}; system calls per 1000 ops (n1/n2/n3): ${syscallsUsed.join(" / ")}; resident MiB (n1/n2/n3): ${rssMb.join("/")}`,
    )
    console.error(
      `  nats-server per 1000 ops: ${natsPer1000[0]} messages in, ${natsPer1000[1]} out; bytes per op: ${natsPer1000[2]} in, ${natsPer1000[3]} out`,
    )
    if (r.errors > 0) {
      console.error(`  first error: ${r.firstError}`)
      const statuses = await Promise.all(client.endpoints.map((e) => e.status(3000).catch(String)))
      for (const [i, st] of statuses.entries()) {
        console.error(
          typeof st === "string"
            ? `  n${i + 1}: ${st}`
            : `  n${i + 1}: term ${st.raftTerm} leader ${st.leader} commit ${st.raftIndex} applied ${st.raftAppliedIndex}`,
        )
      }
    }
  }
  if (phases.has("idle")) {
    const before = cluster.pids().map(cpuMs)
    await Bun.sleep(seconds * 1000)
    const used = cluster.pids().map((pid, i) => (cpuMs(pid) - (before[i] ?? 0)) / seconds / 10)
    idleMsPerSec = used.map((p) => p * 10)
    console.error(`idle: node CPU (% of one core, n1/n2/n3): ${used.map((p) => p.toFixed(1)).join("/")}`)
  }
  let latSum = 0
  let latN = 0
  await run("put", async (slot) => {
    const t0 = performance.now()
    await ep.put({ key: keys[slot % keys.length], value })
    latSum += performance.now() - t0
    latN++
  })
  if (latN > 0) console.error(`client mean put latency ${(latSum / latN).toFixed(2)} ms over ${latN}`)
  await run("lin", () => ep.range({ key: Buffer.from("bench/read"), serializable: false }))
  await run("ser", () => ep.range({ key: Buffer.from("bench/read"), serializable: true }))
} finally {
  client.close()
  await cluster.terminate()
  await killAll()
  for (const n of ["n1", "n2", "n3"]) {
    const log = join(base, "cluster", `${n}.log`)
    if (existsSync(log)) copyFileSync(log, join(out, `${n}.log`))
  }
  rmSync(base, { recursive: true, force: true })
}
