/**
 * add-node / remove-node / snapshot / compact-log on in-process nodes over real SQLite: joining
 * nodes start as non-members, catch up by InstallSnapshot after the leader compacted its log,
 * and are promoted automatically (two at once, one change at a time); removing the leader hands
 * leadership over and the cluster keeps taking writes.
 */
import { afterEach, describe, expect, test } from "bun:test"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect, Either } from "effect"
import { addNode, removeNode } from "../../../src/node/admin-membership.ts"
import { LocalCluster } from "../../../src/node/local-cluster.ts"
import { logMaintenance } from "../../../src/node/log-maintenance.ts"
import { KV_GROUP } from "../../../src/node/node.ts"
import { put, rangeLinearizable, testNodeOptions } from "./cluster-support.ts"

let cleanup: (() => Promise<void>) | null = null
afterEach(async () => {
  await cleanup?.()
  cleanup = null
})

const waitFor = async (what: string, ok: () => boolean, timeoutMs = 15_000) => {
  const until = performance.now() + timeoutMs
  while (performance.now() < until) {
    if (ok()) return
    await Bun.sleep(20)
  }
  throw new Error(`timed out waiting for ${what}`)
}

const makeCluster = () => {
  const dir = mkdtempSync(join(tmpdir(), "lattice-join-"))
  const voters = ["n1", "n2", "n3"]
  const specs = ["n1", "n2", "n3", "n4", "n5"].map((id) => ({
    options: { ...testNodeOptions(id, voters, dir), join: !voters.includes(id) },
  }))
  const cluster = new LocalCluster(specs)
  cleanup = async () => {
    await cluster.stopAll()
    rmSync(dir, { recursive: true, force: true })
  }
  return cluster
}

const conf = (c: LocalCluster, id: string) => c.get(id)!.node.group()!.view.status.conf

describe("add-node and remove-node", () => {
  test("two joining nodes catch up by snapshot and are promoted automatically", async () => {
    const c = makeCluster()
    for (const id of ["n1", "n2", "n3"]) await c.start(id)
    const leader = await c.awaitLeader()
    await Promise.all(Array.from({ length: 300 }, (_, i) => put(c, leader, `k${i}`, `v${i}`)))
    // compact-log on the leader keeping 10 entries: the joiners must get InstallSnapshot.
    const report = await Effect.runPromise(
      logMaintenance(c.get("n2")!.node, leader, { group: KV_GROUP, keep: 10 }, 5000),
    )
    expect(report.node).toBe(leader)
    expect(report.index).toBeGreaterThanOrEqual(300)
    expect(report.firstIndex).toBeGreaterThan(report.index - 11)

    await c.start("n4")
    await c.start("n5")
    await Bun.sleep(300)
    // A joining node does not bootstrap a cluster of its own: no campaign, no leader, no term.
    for (const id of ["n4", "n5"]) {
      const st = c.get(id)!.node.group()!.view.status
      expect(st.role === "leader" || st.role === "candidate" || st.role === "preCandidate").toBe(false)
      expect(st.conf.voters).not.toContain(id)
    }
    // Both at once, through a follower: the leader promotes them one change at a time.
    const via = ["n1", "n2", "n3"].find((id) => id !== leader)!
    const [a4, a5] = await Promise.all([
      Effect.runPromise(Effect.either(addNode(c.get(via)!.node, "n4"))),
      Effect.runPromise(Effect.either(addNode(c.get(via)!.node, "n5"))),
    ])
    expect(Either.isRight(a4) && Either.isRight(a5)).toBe(true)
    await waitFor("n4 and n5 voters", () => {
      const v = conf(c, leader).voters
      return v.includes("n4") && v.includes("n5")
    })
    expect(conf(c, leader).learners).toEqual([])
    // Caught up by snapshot: every key is on the new nodes.
    for (const id of ["n4", "n5"]) {
      await waitFor(`${id} applied`, () => c.get(id)!.node.group()!.sm.revision >= 301)
      const st = c.get(id)!.node.group()!.view.status
      expect(st.firstIndex).toBeGreaterThan(1)
      expect((await rangeLinearizable(c, id, "k")).size).toBe(300)
    }
    // add-node of a voter is a no-op.
    expect(await Effect.runPromise(addNode(c.get(leader)!.node, "n4"))).toBe("already-voter")
  }, 60_000)

  test("removing the leader hands leadership over; writes continue; the removed node is out", async () => {
    const c = makeCluster()
    for (const id of ["n1", "n2", "n3"]) await c.start(id)
    const leader = await c.awaitLeader()
    await put(c, leader, "before", "1")
    await Effect.runPromise(removeNode(c.get(leader)!.node, leader))
    const rest = ["n1", "n2", "n3"].filter((id) => id !== leader)
    await waitFor("a new leader among the rest", () => {
      const l = c.get(rest[0]!)!.node.group()!.view.status.leader
      return l !== null && rest.includes(l)
    })
    const next = c.get(rest[0]!)!.node.group()!.view.status.leader!
    expect([...conf(c, next).voters].sort()).toEqual([...rest].sort())
    await put(c, rest[1]!, "after", "2")
    const got = await rangeLinearizable(c, next, "after")
    expect(got.get("after")).toBe("2")
    await waitFor("the removed node sees it is out", () => !conf(c, leader).voters.includes(leader))
    // It never disturbs the cluster again: the term stays put while it sits out.
    const term = c.get(next)!.node.group()!.view.status.term
    await Bun.sleep(500)
    expect(c.get(next)!.node.group()!.view.status.term).toBe(term)
    expect(c.get(leader)!.node.group()!.view.status.role).not.toBe("leader")
  }, 60_000)
})
