/**
 * `lattice benchmark` against an in-process 3-node cluster (real SQLite files, real gRPC
 * listeners on free ports): a short run per workload must complete requests without errors and
 * print every documented field; bad flags and an unreachable cluster get clear errors.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { createServer } from "node:net"
import { runLattice } from "../../unit/cli/capture.ts"
import { makeTestCluster, type TestCluster } from "../node/cluster-support.ts"

let t: TestCluster
let endpoints = ""

beforeAll(async () => {
  t = makeTestCluster(
    3,
    (o) => o,
    () => ({ etcd: "127.0.0.1:0", http: "127.0.0.1:0" }),
  )
  await t.cluster.startAll()
  await t.cluster.awaitLeader(20_000)
  endpoints = t.cluster.ids.map((id) => `127.0.0.1:${t.cluster.get(id)!.listeners!.etcdPort}`).join(",")
}, 30_000)

afterAll(async () => {
  await t.cleanup()
})

/** A port nothing listens on: bound, then released. */
const closedPort = (): Promise<number> =>
  new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port
      s.close(() => resolve(port))
    })
  })

describe("lattice benchmark", () => {
  test("a 1 s mixed run reports throughput, percentiles and no errors as JSON", async () => {
    const r = await runLattice([
      "benchmark",
      "mixed",
      "--seconds",
      "1",
      "--keys",
      "50",
      "--concurrency",
      "8",
      "--read-ratio",
      "0.5",
      "--endpoints",
      endpoints,
      "--format",
      "json",
    ])
    expect(r.stderr).toContain("writing 50 keys")
    expect(r.code).toBe(0)
    const out = JSON.parse(r.stdout)
    expect(out.workload).toBe("mixed")
    expect(out.ops).toBeGreaterThan(0)
    expect(out.opsPerSec).toBeGreaterThan(0)
    expect(out.errors).toBe(0)
    expect(out.firstErrors).toEqual([])
    for (const p of ["p50", "p90", "p99", "p999"]) expect(out.latencyMs[p]).toBeGreaterThan(0)
    expect(out.latencyMs.p50).toBeLessThanOrEqual(out.latencyMs.p99)
    expect(out.latencyMs.p99).toBeLessThanOrEqual(out.latencyMs.p999)
    expect(out.options).toMatchObject({ keys: 50, concurrency: 8, readRatio: 0.5, serializable: false })
  }, 30_000)

  test("SECONDS alone is a mixed run; the table and per-second progress are printed", async () => {
    const r = await runLattice([
      "benchmark",
      "1.5",
      "--concurrency",
      "4",
      "--keys",
      "20",
      "--endpoints",
      endpoints,
    ])
    expect(r.code).toBe(0)
    expect(r.stderr).toMatch(/1 s: \d+ ops, \d+ ops\/s/)
    for (const row of [
      "workload",
      "throughput",
      "latency p50",
      "latency p90",
      "latency p99 ",
      "latency p99.9",
      "errors",
    ])
      expect(r.stdout).toContain(row)
    expect(r.stdout).toMatch(/workload\s+mixed \(50% gets\)/)
    expect(r.stdout).toMatch(/errors\s+0\n/)
  }, 30_000)

  test("put and serializable get runs", async () => {
    const put = await runLattice([
      "benchmark",
      "put",
      "--seconds",
      "0.5",
      "--endpoints",
      endpoints,
      "--format",
      "json",
    ])
    expect(put.code).toBe(0)
    expect(JSON.parse(put.stdout)).toMatchObject({ workload: "put", errors: 0 })
    const get = await runLattice([
      "benchmark",
      "get",
      "--seconds",
      "0.5",
      "--keys",
      "10",
      "--consistency",
      "s",
      "--endpoints",
      endpoints,
      "--format",
      "json",
    ])
    expect(get.code).toBe(0)
    const out = JSON.parse(get.stdout)
    expect(out).toMatchObject({ workload: "get", errors: 0, options: { serializable: true } })
    expect(out.ops).toBeGreaterThan(0)
  }, 30_000)

  test("an unreachable cluster says how to start one", async () => {
    const r = await runLattice(["benchmark", "1", "--endpoints", `127.0.0.1:${await closedPort()}`])
    expect(r.code).toBe(69)
    expect(r.stderr).toContain("no endpoint answered")
    expect(r.stderr).toContain("lattice dev")
  }, 15_000)

  test("bad flags are usage errors that name the flag", async () => {
    const cases: [string[], string][] = [
      [["benchmark", "sideways"], 'got "sideways"'],
      [["benchmark", "put", "--concurrency", "0"], "--concurrency must be a whole number from 1 to 10000"],
      [["benchmark", "mixed", "--read-ratio", "1.5"], "--read-ratio must be a number from 0 to 1"],
      [["benchmark", "put", "--read-ratio", "0.2"], "--read-ratio applies to mixed runs only"],
      [["benchmark", "get", "--consistency", "x"], "--consistency must be l (linearizable) or s"],
      [["benchmark", "--format", "xml"], "--format must be table or json"],
      [["benchmark", "5", "--seconds", "3"], "either SECONDS or --seconds"],
      [["benchmark", "--keys", "many"], '--keys must be a whole number ≥ 1, got "many"'],
      [["benchmark", "--endpoints", "nohost"], "--endpoints wants host:port"],
      [["benchmark", "--value-size"], "--value-size needs a value"],
    ]
    for (const [argv, message] of cases) {
      const r = await runLattice(argv)
      expect({ argv, code: r.code }).toEqual({ argv, code: 2 })
      expect(r.stderr).toContain(message)
    }
  })

  test("--help lists the workloads and every flag", async () => {
    const r = await runLattice(["benchmark", "--help"])
    expect(r.code).toBe(0)
    for (const s of [
      "put",
      "get",
      "mixed",
      "--keys",
      "--value-size",
      "--concurrency",
      "--read-ratio",
      "--seconds",
    ])
      expect(r.stdout).toContain(s)
    for (const s of ["--endpoints", "--consistency", "--format"]) expect(r.stdout).toContain(s)
    const root = await runLattice(["--help"])
    expect(root.stdout).toContain("benchmark")
  })
})
