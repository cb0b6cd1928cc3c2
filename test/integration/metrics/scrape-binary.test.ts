/**
 * Scrapes three `lattice start` processes (the compiled binary, dist/lattice) over a real
 * nats-server: every metric docs/metrics.md documents, the alert rules and the dashboard use is
 * served by every node (the NATS KV service's included, which only `lattice start` runs); the
 * NATS adapter's metrics move when the request-reply service is used; and after the leader is
 * killed with SIGKILL the survivors count the election. scrape-local.test.ts checks the rest of
 * the movements on an in-process cluster.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { connect, type NatsConnection } from "@nats-io/transport-node"
import { kvSubject } from "../../../src/adapters/nats/subjects.ts"
import { hasNats, processCluster } from "../node/process-cluster.ts"
import {
  deployMetrics,
  documentedMetrics,
  expectElectionCounted,
  type PromSample,
  parseExposition,
  sampleValue,
  scrape,
} from "./support.ts"

const IDS = ["n1", "n2", "n3"]
const G = { group: "1" }
const b64 = (s: string) => Buffer.from(s).toString("base64")

describe.skipIf(!hasNats)("metrics of 3 lattice processes", () => {
  const c = processCluster(IDS, [])
  let client: NatsConnection

  beforeAll(async () => {
    const argv = c.argv("n1")
    client = await connect({ servers: [argv[argv.indexOf("--nats") + 1]!] })
    await c.leaderOf(IDS)
  }, 60_000)
  afterAll(async () => {
    await client?.close()
  })

  const metricsOf = async (id: string): Promise<Map<string, PromSample[]>> =>
    parseExposition(await scrape(`${c.httpEndpoint(id)}/metrics`))
  /** A metric summed over every node that answers. */
  const clusterSum = async (ids: readonly string[], name: string, labels = {}) => {
    let sum = 0
    for (const id of ids) sum += sampleValue(await metricsOf(id), name, labels)
    return sum
  }
  // biome-ignore lint/suspicious/noExplicitAny: answers are checked field by field
  const ask = async (op: "put" | "range" | "status", req: unknown): Promise<any> =>
    JSON.parse(
      (await client.request(kvSubject("lattice", op), JSON.stringify(req), { timeout: 5000 })).string(),
    )

  test("every documented metric, and every one the alerts and the dashboard use, is served by every node", async () => {
    const documented = documentedMetrics(
      readFileSync(join(import.meta.dir, "../../../docs/metrics.md"), "utf8"),
    )
    const { rules, dashboard } = await deployMetrics()
    expect(documented.length).toBeGreaterThan(30)
    expect(documented).toContain("lattice_adapter_nats_requests_total")
    expect(documented).toContain("lattice_errors_divergences")
    for (const id of IDS) {
      const families = await metricsOf(id)
      const missing = [...new Set([...documented, ...rules, ...dashboard])].filter((n) => !families.has(n))
      expect({ node: id, missing }).toEqual({ node: id, missing: [] })
      for (const samples of families.values()) for (const s of samples) expect(s.labels.node).toBe(id)
      // A healthy cluster has found no divergence.
      expect(sampleValue(families, "lattice_errors_divergences", G)).toBe(0)
    }
  })

  test("the NATS adapter's requests, durations and errors move when the request-reply service is used", async () => {
    const before = {
      requests: await clusterSum(IDS, "lattice_adapter_nats_requests_total", { operation: "put" }),
      durations: await clusterSum(IDS, "lattice_adapter_nats_request_duration_seconds_count", {
        operation: "put",
      }),
      ranges: await clusterSum(IDS, "lattice_adapter_nats_requests_total", { operation: "range" }),
      errors: await clusterSum(IDS, "lattice_adapter_nats_errors_total", { operation: "put" }),
    }
    for (let i = 0; i < 5; i++) {
      const r = await ask("put", { key: b64(`nats${i}`), value: b64("v") })
      expect(r.header?.revision).toBeDefined()
    }
    const got = await ask("range", { key: b64("nats0") })
    expect(Buffer.from(got.kvs[0].value, "base64").toString()).toBe("v")
    // An unknown field is refused (INVALID_ARGUMENT) and counted as an error.
    const bad = await ask("put", { key: b64("nats-bad"), value: b64("v"), prevKv: true })
    expect(bad.error).toBeDefined()
    // Each request was answered by one node of the queue group: the sums over the nodes count them.
    expect(await clusterSum(IDS, "lattice_adapter_nats_requests_total", { operation: "put" })).toBe(
      before.requests + 6,
    )
    expect(
      await clusterSum(IDS, "lattice_adapter_nats_request_duration_seconds_count", { operation: "put" }),
    ).toBe(before.durations + 6)
    expect(await clusterSum(IDS, "lattice_adapter_nats_requests_total", { operation: "range" })).toBe(
      before.ranges + 1,
    )
    expect(await clusterSum(IDS, "lattice_adapter_nats_errors_total", { operation: "put" })).toBe(
      before.errors + 1,
    )
  })

  test("after the leader is killed with SIGKILL the survivors count an election and a failover", async () => {
    const leader = await c.leaderOf(IDS)
    const survivors = IDS.filter((id) => id !== leader)
    const before = new Map<string, Map<string, PromSample[]>>()
    for (const id of survivors) before.set(id, await metricsOf(id))
    await c.kill(leader)
    const next = await c.leaderOf(survivors)
    for (const id of survivors) {
      const b = before.get(id)!
      const a = await metricsOf(id)
      expectElectionCounted(b, a, G)
      expect(sampleValue(a, "cluster_is_leader", G)).toBe(id === next ? 1 : 0)
    }
    // The new leader sees the killed node down: 2 of 3 healthy, quorum kept.
    let m = await metricsOf(next)
    for (let i = 0; i < 50 && sampleValue(m, "cluster_nodes_healthy") !== 2; i++) {
      await Bun.sleep(100)
      m = await metricsOf(next)
    }
    expect(sampleValue(m, "cluster_nodes_healthy")).toBe(2)
    expect(sampleValue(m, "lattice_cluster_quorum", G)).toBe(1)
    expect(sampleValue(m, "lattice_leader_elected", G)).toBe(1)
  }, 60_000)
})
