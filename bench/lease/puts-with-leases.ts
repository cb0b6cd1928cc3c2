/**
 * Lease bench: put throughput with 0 and with many active leases (target: 100k leases slow puts
 * by at most 10%).
 *  1. State machine (3 alternating rounds, best of each): puts applied in 100-entry transactions (synchronous=FULL), with a lease
 *     tick entry every 100 puts (the keeper's rate at ~1k puts/s), over an empty lease table
 *     and over LEASE_BENCH_LEASES leases (default 100,000; none due, as live leases are).
 *  2. Cluster: a 3-node in-process cluster (in-memory transport, real SQLite files, fsync),
 *     LEASE_BENCH_CLUSTER_PUTS puts (default 3,000) with 64 in flight, before and after
 *     LEASE_BENCH_CLUSTER_LEASES leases (default 100,000) are granted through Raft; the leader's
 *     LeaseKeeper ticks every 100 ms meanwhile. Also reports the grant rate.
 *  3. Processes: a real 3-node cluster (three `lattice start` processes over one nats-server,
 *     default settings), driven over gRPC like bench/etcd-compare: puts for
 *     LEASE_BENCH_SECONDS (default 10) with 64 in flight round-robin over the nodes, then
 *     LEASE_BENCH_CLUSTER_LEASES LeaseGrants (256 in flight, TTL 1 h, a timed-out grant is sent again), then the puts again;
 *     alternating rounds (0 leases, with leases) are not possible here, so after a warm-up of
 *     2 × LEASE_BENCH_SECONDS it measures the puts twice before the grants and twice after,
 *     and reports the better of each.
 *
 *   bun bench/lease/puts-with-leases.ts [--modes sm,cluster,processes]
 *   LEASE_BENCH_CLUSTER_LEASES=10000 bun bench/lease/puts-with-leases.ts   (quicker)
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { Effect } from "effect"
import type { KvCommand } from "../../schemas/kv.ts"
import { ClusterClient } from "../../src/bench/client.ts"
import { CLIENT_TUNING, tuneRuntimeOrContinue } from "../../src/cli/runtime-tuning.ts"
import { KvStateMachine } from "../../src/kv/state-machine.ts"
import { LocalCluster } from "../../src/node/local-cluster.ts"
import type { NodeOptions } from "../../src/node/options.ts"
import { bunSqliteDriver } from "../../src/storage/bun-sqlite.ts"
import { LeaseClient } from "../../test/support/lease-client.ts"
import { waitReady } from "../etcd-compare/lib/cluster.ts"
import { startLatticeCluster } from "../etcd-compare/lib/lattice-cluster.ts"

// The client runs with the allocator tuned as the nodes do (src/cli/runtime-tuning.ts); the nodes
// tune themselves when they start.
await tuneRuntimeOrContinue(CLIENT_TUNING)

const args = process.argv.slice(2)
if (args.includes("--help") || args.includes("-h")) {
  console.log(
    "usage: bun bench/lease/puts-with-leases.ts [--modes sm,cluster,processes]\n" +
      "Put throughput with 0 and 100,000 active leases: sm = the state machine alone, cluster = a\n" +
      "3-node in-process cluster, processes = 3 real `lattice start` processes over nats-server.\n" +
      "Environment: LEASE_BENCH_LEASES, LEASE_BENCH_PUTS, LEASE_BENCH_CLUSTER_PUTS,\n" +
      "LEASE_BENCH_CLUSTER_LEASES, LEASE_BENCH_SECONDS (see the file's header).",
  )
  process.exit(0)
}
const modesAt = args.indexOf("--modes")
const MODES = new Set((modesAt >= 0 ? (args[modesAt + 1] ?? "") : "sm,cluster,processes").split(","))
for (const m of MODES)
  if (!["sm", "cluster", "processes"].includes(m)) {
    console.error(`unknown mode ${m}: use sm, cluster and/or processes (comma-separated)`)
    process.exit(2)
  }
const LEASES = Number(process.env.LEASE_BENCH_LEASES ?? 100_000)
const SM_PUTS = Number(process.env.LEASE_BENCH_PUTS ?? 50_000)
const CLUSTER_PUTS = Number(process.env.LEASE_BENCH_CLUSTER_PUTS ?? 3_000)
const CLUSTER_LEASES = Number(process.env.LEASE_BENCH_CLUSTER_LEASES ?? 100_000)
const SECONDS = Number(process.env.LEASE_BENCH_SECONDS ?? 10)

const enc = new TextEncoder()
const value = new Uint8Array(100).fill(120)
const fmt = (n: number): string => Math.round(n).toLocaleString("en-US")
const dir = mkdtempSync(join(tmpdir(), "lattice-lease-bench-"))

/** Puts/s applying `puts` puts in 100-entry transactions, one tick per transaction. */
const smRun = (leases: number, round: number): number => {
  const db = bunSqliteDriver.open(join(dir, `sm-${leases}-${round}.db`), { synchronous: "FULL" })
  const sm = KvStateMachine.open(db, { group: 1 })
  let index = 0
  let tick = 0
  const batch = (cmds: KvCommand[]) => sm.applyBatch(cmds.map((command) => ({ index: ++index, command })))
  for (let i = 0; i < leases; i += 1000) {
    const n = Math.min(1000, leases - i)
    batch(Array.from({ length: n }, () => ({ type: "leaseGrant", request: { id: 0n, ttlMs: 3_600_000 } })))
  }
  const t0 = performance.now()
  for (let i = 0; i < SM_PUTS; i += 100) {
    const cmds: KvCommand[] = Array.from({ length: 100 }, (_, j) => ({
      type: "put",
      request: { key: enc.encode(`/bench/key-${(i + j) % 10_000}`), value },
    }))
    cmds.push({ type: "tick", tick: ++tick, ms: tick * 100 })
    batch(cmds)
  }
  const rate = SM_PUTS / ((performance.now() - t0) / 1000)
  if (sm.leaseCount() !== leases) throw new Error(`expected ${leases} leases, found ${sm.leaseCount()}`)
  db.close()
  return rate
}

const nodeOptions = (id: string, members: readonly string[]): NodeOptions => ({
  nodeId: id,
  clusterName: "bench",
  members,
  dataDir: join(dir, "cluster", id),
  synchronous: "FULL",
  tickMs: 50,
  electionTicks: 10,
  heartbeatTicks: 1,
  preVote: true,
  checkQuorum: true,
  maxEntriesPerAppend: 256,
  maxInflight: 64,
  batchSize: 128,
  batchTimeoutMs: 0,
  requestTimeoutMs: 30_000,
  snapshotInterval: 1_000_000,
  keepEntries: 1000,
  mailboxCapacity: 8192,
  clientUrls: {},
  peerUrls: {},
})

/** Runs `count` writes with `width` in flight through the nodes in turn; returns writes/s. */
const drive = async (
  cluster: LocalCluster,
  count: number,
  width: number,
  command: (i: number) => KvCommand,
): Promise<number> => {
  const nodes = cluster.nodes()
  let next = 0
  const t0 = performance.now()
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < count) {
        const i = next++
        const out = await Effect.runPromise(nodes[i % nodes.length]!.node.write(command(i)))
        if (out === null || !out.ok) throw new Error(`write ${i} failed`)
      }
    }),
  )
  return count / ((performance.now() - t0) / 1000)
}

const putCmd =
  (tag: string) =>
  (i: number): KvCommand => ({
    type: "put",
    request: { key: enc.encode(`/bench/${tag}/key-${i % 10_000}`), value },
  })

/** Runs `op` with `width` in flight until `count` are done or `seconds` pass; returns ops/s. */
const load = async (
  width: number,
  op: (i: number) => Promise<unknown>,
  limit: { count?: number; seconds?: number },
): Promise<{ rate: number; done: number }> => {
  let next = 0
  let done = 0
  const t0 = performance.now()
  const until = t0 + (limit.seconds ?? Number.POSITIVE_INFINITY) * 1000
  let lastReport = t0
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < (limit.count ?? Number.POSITIVE_INFINITY) && performance.now() < until) {
        await op(next++)
        done++
        if (performance.now() - lastReport > 10_000) {
          lastReport = performance.now()
          console.error(`  … ${fmt(done)} done`)
        }
      }
    }),
  )
  return { rate: done / ((performance.now() - t0) / 1000), done }
}

/** Section 3: a real 3-node cluster of processes over nats-server, over gRPC. */
const processesRun = async (): Promise<void> => {
  console.log(`\n## 3 lattice processes over nats-server (gRPC): puts for ${SECONDS} s, 64 in flight`)
  const cluster = await startLatticeCluster(join(dir, "processes"), resolve(import.meta.dir, "../.."))
  const client = new ClusterClient(cluster.endpoints)
  const leases = cluster.endpoints.map((e) => new LeaseClient(e))
  try {
    await waitReady(client, "lattice")
    const put = (tag: string) => (i: number) =>
      client.pick().put({ key: enc.encode(`/bench/${tag}/key-${i % 10_000}`), value }, 30_000)
    // A long warm-up: the first seconds of a fresh cluster are slower (JIT, caches, WAL), and
    // with only the grants in between the "after" rounds would get that warm-up for free.
    await load(64, put("warmup"), { seconds: 2 * SECONDS })
    const base = Math.max(
      (await load(64, put("before"), { seconds: SECONDS })).rate,
      (await load(64, put("before"), { seconds: SECONDS })).rate,
    )
    console.log(`puts/s with 0 leases:        ${fmt(base)}  (best of 2)`)
    console.error(`granting ${fmt(CLUSTER_LEASES)} leases…`)
    // A grant that times out on a loaded machine is sent again (a duplicate only adds a lease).
    const grant = async (i: number): Promise<void> => {
      for (let attempt = 0; ; attempt++) {
        try {
          await leases[(i + attempt) % leases.length]!.grant(3600, 60_000)
          return
        } catch (error) {
          if (attempt >= 5) throw error
        }
      }
    }
    const grants = await load(256, grant, { count: CLUSTER_LEASES })
    console.log(`granted ${fmt(grants.done)} leases at ${fmt(grants.rate)} grants/s`)
    const leased = Math.max(
      (await load(64, put("after"), { seconds: SECONDS })).rate,
      (await load(64, put("after"), { seconds: SECONDS })).rate,
    )
    const listed = await leases[0]!.leases(60_000)
    console.log(
      `puts/s with ${fmt(listed.leases?.length ?? 0)} leases: ${fmt(leased)}  (${((leased / base - 1) * 100).toFixed(1)}%, best of 2)`,
    )
  } finally {
    for (const l of leases) l.close()
    client.close()
    await cluster.stop()
  }
}

try {
  console.log(
    `# lease bench (bun ${Bun.version}); machine load: ${(await Bun.file("/proc/loadavg").text()).trim()}`,
  )
  if (MODES.has("sm")) {
    console.log(`\n## state machine: ${fmt(SM_PUTS)} puts, 100 per transaction + 1 tick`)
    // Alternating rounds, best of each: the machine's load moves between rounds.
    let smBase = 0
    let smLeased = 0
    for (let round = 0; round < 3; round++) {
      smBase = Math.max(smBase, smRun(0, round))
      smLeased = Math.max(smLeased, smRun(LEASES, round))
    }
    console.log(`puts/s with 0 leases:        ${fmt(smBase)}  (best of 3)`)
    console.log(
      `puts/s with ${fmt(LEASES)} leases: ${fmt(smLeased)}  (${((smLeased / smBase - 1) * 100).toFixed(1)}%)`,
    )
  }
  if (MODES.has("processes")) await processesRun()
  if (MODES.has("cluster")) await inProcessRun()
  console.log(`\nmachine load at the end: ${(await Bun.file("/proc/loadavg").text()).trim()}`)
} finally {
  rmSync(dir, { recursive: true, force: true })
}
process.exit(0)

/** Section 2: the in-process cluster. */
async function inProcessRun(): Promise<void> {
  console.log(`\n## 3-node in-process cluster: ${fmt(CLUSTER_PUTS)} puts, 64 in flight`)
  const ids = ["n1", "n2", "n3"]
  const cluster = new LocalCluster(ids.map((id) => ({ options: nodeOptions(id, ids) })))
  await cluster.startAll()
  await cluster.awaitLeader()
  await drive(cluster, 300, 64, putCmd("warmup"))
  const base = await drive(cluster, CLUSTER_PUTS, 64, putCmd("before"))
  console.log(`puts/s with 0 leases:        ${fmt(base)}`)
  const grantRate = await drive(cluster, CLUSTER_LEASES, 1024, () => ({
    type: "leaseGrant",
    request: { id: 0n, ttlMs: 3_600_000 },
  }))
  console.log(`granted ${fmt(CLUSTER_LEASES)} leases at ${fmt(grantRate)} grants/s`)
  const leased = await drive(cluster, CLUSTER_PUTS, 64, putCmd("after"))
  const leader = cluster.get(cluster.leader()!)!
  const active = leader.node.group()!.sm.leaseCount()
  console.log(
    `puts/s with ${fmt(active)} leases: ${fmt(leased)}  (${((leased / base - 1) * 100).toFixed(1)}%)`,
  )
  await cluster.stopAll()
}
