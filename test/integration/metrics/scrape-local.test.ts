/**
 * Scrapes a live in-process 3-node cluster (real SQLite files, real HTTP listeners) and checks
 * that every metric docs/metrics.md documents is exported by every node, and that the metrics
 * move when they should: proposals, WAL writes and adapter requests after puts; elections,
 * failovers, term, quorum and a stopped follower's lag after the leader stops.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { EndpointClient } from "../../../src/bench/client.ts"
import { makeTestCluster, put, type TestCluster } from "../node/cluster-support.ts"
import {
  deployMetrics,
  documentedMetrics,
  expectElectionCounted,
  type PromSample,
  parseExposition,
  sampleValue,
  scrape,
} from "./support.ts"

let t: TestCluster

beforeAll(async () => {
  t = makeTestCluster(
    3,
    (o) => o,
    () => ({ etcd: "127.0.0.1:0", http: "127.0.0.1:0" }),
  )
  await t.cluster.startAll()
  await t.cluster.awaitLeader(20_000)
}, 30_000)

afterAll(async () => {
  await t.cleanup()
})

const httpOf = (id: string): string => `http://127.0.0.1:${t.cluster.get(id)!.listeners!.httpPort}`
const metricsOf = async (id: string): Promise<Map<string, PromSample[]>> =>
  parseExposition(await scrape(`${httpOf(id)}/metrics`))
const G = { group: "1" }

const gatewayPut = async (id: string, key: string, value: string): Promise<void> => {
  const res = await fetch(`${httpOf(id)}/v3/kv/put`, {
    method: "POST",
    body: JSON.stringify({ key: btoa(key), value: btoa(value) }),
  })
  expect(res.status).toBe(200)
}

describe("metrics of a live 3-node cluster", () => {
  test("every documented metric is exported by every node", async () => {
    const documented = documentedMetrics(
      readFileSync(join(import.meta.dir, "../../../docs/metrics.md"), "utf8"),
    )
    expect(documented.length).toBeGreaterThan(30)
    // Names only the `lattice start` runtime serves (the NATS KV service): scrape-binary.test.ts.
    const inProcess = documented.filter((n) => !n.startsWith("lattice_adapter_nats_"))
    for (const id of t.cluster.ids) {
      const families = await metricsOf(id)
      const missing = inProcess.filter((name) => !families.has(name))
      expect({ node: id, missing }).toEqual({ node: id, missing: [] })
      // Every sample names its node; no label carries a key.
      for (const samples of families.values()) for (const s of samples) expect(s.labels.node).toBe(id)
    }
  })

  test("every metric the alert rules and the dashboard use is exported", async () => {
    const { rules, dashboard } = await deployMetrics()
    const families = await metricsOf(await t.cluster.awaitLeader())
    // The NATS KV service runs only under `lattice start`: scrape-binary.test.ts checks those.
    const missing = (names: string[]) =>
      names.filter((n) => !families.has(n) && !n.startsWith("lattice_adapter_nats_"))
    expect(missing(rules)).toEqual([])
    expect(missing(dashboard)).toEqual([])
  })

  test("a gRPC client shows as a connection and its requests are counted per operation", async () => {
    const leader = await t.cluster.awaitLeader()
    const client = new EndpointClient(`127.0.0.1:${t.cluster.get(leader)!.listeners!.etcdPort}`)
    try {
      await client.range({ key: new TextEncoder().encode("k") })
      const m = await metricsOf(leader)
      expect(sampleValue(m, "lattice_connections_active", { listener: "grpc" })).toBeGreaterThanOrEqual(1)
      expect(
        sampleValue(m, "lattice_adapter_etcd_requests_total", { operation: "Range" }),
      ).toBeGreaterThanOrEqual(1)
    } finally {
      client.close()
    }
  })

  test("writes move proposals, WAL writes, applies and adapter requests", async () => {
    const leader = await t.cluster.awaitLeader()
    const before = await metricsOf(leader)
    for (let i = 0; i < 5; i++) await put(t.cluster, leader, `k${i}`, "v")
    await gatewayPut(leader, "via-gateway", "v")
    const after = await metricsOf(leader)
    const delta = (name: string, labels = {}) =>
      sampleValue(after, name, labels) - sampleValue(before, name, labels)
    expect(delta("lattice_raft_proposals_total", G)).toBeGreaterThanOrEqual(6)
    expect(delta("lattice_raft_proposal_duration_seconds_count", G)).toBeGreaterThanOrEqual(6)
    expect(delta("lattice_wal_writes_total")).toBeGreaterThan(0)
    expect(delta("lattice_wal_write_latency_seconds_count")).toBeGreaterThan(0)
    expect(delta("lattice_apply_loop_duration_seconds_count", G)).toBeGreaterThan(0)
    expect(delta("lattice_adapter_etcd_requests_total", { operation: "Put" })).toBe(1)
    expect(delta("lattice_adapter_etcd_request_duration_seconds_count", { operation: "Put" })).toBe(1)
    expect(delta("cluster_state_replications_total", G)).toBeGreaterThan(0)
    expect(sampleValue(after, "cluster_is_leader", G)).toBe(1)
    expect(sampleValue(after, "lattice_leader_elected", G)).toBe(1)
    expect(sampleValue(after, "lattice_cluster_quorum", G)).toBe(1)
    expect(sampleValue(after, "cluster_nodes_total")).toBe(3)
    expect(sampleValue(after, "cluster_nodes_healthy")).toBe(3)
    expect(sampleValue(after, "cluster_heartbeats_sent_total", G)).toBeGreaterThan(0)
    expect(sampleValue(after, "lattice_db_size_bytes", { database: "raft" })).toBeGreaterThan(0)
    expect(sampleValue(after, "cluster_state_size_bytes")).toBeGreaterThan(0)
    // Every follower is caught up: no lag.
    const lags = after.get("lattice_replication_lag_seconds") ?? []
    expect(lags.map((s) => s.labels.follower).sort()).toEqual(
      t.cluster.ids.filter((id) => id !== leader).sort(),
    )
    const follower = t.cluster.ids.find((id) => id !== leader)!
    const f = await metricsOf(follower)
    expect(sampleValue(f, "cluster_is_leader", G)).toBe(0)
    expect(sampleValue(f, "cluster_heartbeats_received_total", G)).toBeGreaterThan(0)
    expect(sampleValue(f, "lattice_cluster_quorum", G)).toBe(1)
    expect(f.get("lattice_replication_lag_seconds") ?? []).toEqual([])
    // An invalid request is counted as an error with its gRPC code.
    const bad = await fetch(`${httpOf(leader)}/v3/kv/put`, { method: "POST", body: JSON.stringify({}) })
    expect(bad.status).toBe(400)
    const afterBad = await metricsOf(leader)
    expect(
      sampleValue(afterBad, "lattice_adapter_etcd_errors_total", {
        operation: "Put",
        code: "INVALID_ARGUMENT",
      }),
    ).toBe(1)
  })

  test("a leader stop moves elections, failovers and term on the survivors; the stopped node lags", async () => {
    const oldLeader = await t.cluster.awaitLeader()
    const survivors = t.cluster.ids.filter((id) => id !== oldLeader)
    const before = new Map<string, Map<string, PromSample[]>>()
    for (const id of survivors) before.set(id, await metricsOf(id))
    await t.cluster.stop(oldLeader)
    const newLeader = await t.cluster.awaitLeader(10_000)
    for (let i = 0; i < 3; i++) await put(t.cluster, newLeader, `after${i}`, "v")
    await Bun.sleep(300)
    for (const id of survivors) {
      const b = before.get(id)!
      const a = await metricsOf(id)
      expectElectionCounted(b, a, G)
      expect(sampleValue(a, "lattice_cluster_quorum", G)).toBe(1)
    }
    const l = await metricsOf(newLeader)
    expect(sampleValue(l, "cluster_is_leader", G)).toBe(1)
    expect(sampleValue(l, "cluster_nodes_healthy")).toBe(2)
    expect(sampleValue(l, "lattice_replication_lag_seconds", { follower: oldLeader })).toBeGreaterThan(0.1)
    const other = survivors.find((id) => id !== newLeader)!
    expect(sampleValue(l, "lattice_replication_lag_seconds", { follower: other })).toBeLessThan(0.1)
  })
})
