import { afterEach, describe, expect, test } from "bun:test"
import {
  getLinearizable,
  makeTestCluster,
  put,
  rangeLinearizable,
  type TestCluster,
} from "./cluster-support.ts"

let tc: TestCluster | undefined
afterEach(async () => {
  await tc?.cleanup()
  tc = undefined
})

describe("in-process 3-node cluster", () => {
  test("elects a leader, writes through any node, reads linearizably from every node", async () => {
    tc = makeTestCluster()
    const { cluster } = tc
    await cluster.startAll()
    const leader = await cluster.awaitLeader()
    expect(cluster.ids).toContain(leader)
    let lastRev = 0
    for (const [i, id] of cluster.ids.entries()) {
      const rev = await put(cluster, id, `k${i}`, `v${i}`)
      expect(rev).toBeGreaterThan(lastRev)
      lastRev = rev
    }
    for (const id of cluster.ids) {
      for (let i = 0; i < 3; i++) expect(await getLinearizable(cluster, id, `k${i}`)).toBe(`v${i}`)
    }
  }, 20_000)
})

describe("failover", () => {
  test("closing the leader's node: a new leader, writes continue, nothing acknowledged is lost, the node catches up", async () => {
    tc = makeTestCluster()
    const { cluster } = tc
    await cluster.startAll()
    const first = await cluster.awaitLeader()
    const acked = new Map<string, string>()
    const writeVia = async (node: string, n: number) => {
      for (let i = 0; i < n; i++) {
        const key = `key-${acked.size}`
        await put(cluster, node, key, `value-${acked.size}`)
        acked.set(key, `value-${acked.size}`)
      }
    }
    const follower = cluster.ids.find((id) => id !== first)!
    await writeVia(follower, 20)
    await cluster.stop(first)
    const second = await cluster.awaitLeader()
    expect(second).not.toBe(first)
    await writeVia(follower, 20)
    await cluster.start(first)
    await writeVia(first, 5)
    for (const id of cluster.ids) {
      const got = await rangeLinearizable(cluster, id, "key-")
      for (const [k, v] of acked) expect(got.get(k)).toBe(v)
    }
  }, 30_000)

  test("a node that fell behind the compaction floor catches up by snapshot", async () => {
    tc = makeTestCluster(3, (o) => ({ ...o, snapshotInterval: 20, keepEntries: 5 }))
    const { cluster } = tc
    await cluster.startAll()
    const leader = await cluster.awaitLeader()
    const lagging = cluster.ids.find((id) => id !== leader)!
    await cluster.stop(lagging)
    for (let i = 0; i < 80; i++) await put(cluster, leader, `s${i}`, `v${i}`)
    await cluster.start(lagging)
    expect(await getLinearizable(cluster, lagging, "s79")).toBe("v79")
    expect(await getLinearizable(cluster, lagging, "s0")).toBe("v0")
    // Its log now starts after the installed snapshot, far beyond where it stopped.
    expect(cluster.get(lagging)!.node.group()!.view.status.firstIndex).toBeGreaterThan(20)
    const hashes = new Set(cluster.nodes().map((r) => r.node.group()!.sm.hash()))
    const applied = new Set(cluster.nodes().map((r) => r.node.group()!.sm.appliedIndex))
    if (applied.size === 1) expect(hashes.size).toBe(1)
  }, 30_000)
})

describe("5 nodes", () => {
  test("two leaders stopped one after the other: writes continue on the remaining quorum, nothing acknowledged lost", async () => {
    tc = makeTestCluster(5)
    const { cluster } = tc
    await cluster.startAll()
    const acked = new Map<string, string>()
    const writeVia = async (node: string, n: number) => {
      for (let i = 0; i < n; i++) {
        const key = `key-${acked.size}`
        await put(cluster, node, key, `value-${acked.size}`)
        acked.set(key, `value-${acked.size}`)
      }
    }
    const stopped: string[] = []
    for (let round = 0; round < 2; round++) {
      const leader = await cluster.awaitLeader()
      const via = cluster.ids.find((id) => id !== leader && !stopped.includes(id))!
      await writeVia(via, 10)
      await cluster.stop(leader)
      stopped.push(leader)
    }
    const third = await cluster.awaitLeader()
    expect(stopped).not.toContain(third)
    await writeVia(third, 10)
    for (const id of stopped) await cluster.start(id)
    for (const id of cluster.ids) {
      const got = await rangeLinearizable(cluster, id, "key-")
      for (const [k, v] of acked) expect(got.get(k)).toBe(v)
    }
  }, 40_000)
})
