import { afterEach, describe, expect, test } from "bun:test"
import { getLinearizable, makeTestCluster, put, type TestCluster } from "./cluster-support.ts"

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
