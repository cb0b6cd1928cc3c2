/** NodeSupervisor: quarantine on corruption (never serve wrong data), restart with backoff on a crash. */

import { Database } from "bun:sqlite"
import { afterEach, describe, expect, test } from "bun:test"
import { join } from "node:path"
import { makeTestCluster, put, type TestCluster } from "./cluster-support.ts"

let tc: TestCluster | undefined
afterEach(async () => {
  await tc?.cleanup()
  tc = undefined
})

const waitFor = async (check: () => boolean, what: string) => {
  for (let i = 0; i < 300; i++) {
    if (check()) return
    await Bun.sleep(10)
  }
  throw new Error(`timed out waiting for ${what}`)
}

describe("NodeSupervisor", () => {
  test("a corrupted Raft log quarantines the group and it is reported, not restarted", async () => {
    tc = makeTestCluster(1)
    const { cluster, dir } = tc
    await cluster.startAll()
    await cluster.awaitLeader()
    await put(cluster, "n1", "k", "v")
    await cluster.stop("n1")
    const db = new Database(join(dir, "n1", "raft.db"))
    db.run("UPDATE raft_entry SET crc = crc + 1 WHERE idx = (SELECT max(idx) FROM raft_entry)")
    db.close()
    const r = await cluster.start("n1")
    await waitFor(() => r.node.supervisor.health(1)?.state === "quarantined", "quarantine")
    const health = r.node.supervisor.health(1)!
    expect(health.state).toBe("quarantined")
    expect("reason" in health && health.reason).toContain("checksum")
    expect(r.node.group()).toBeUndefined()
    expect(r.node.events.some((e) => e.health.state === "restarting")).toBe(false)
  }, 20_000)

  test("a crashed group is restarted with backoff and serves again", async () => {
    tc = makeTestCluster(1)
    const { cluster } = tc
    await cluster.startAll()
    await cluster.awaitLeader()
    await put(cluster, "n1", "a", "1")
    const r = cluster.get("n1")!
    const h = r.node.group()!
    // A defect inside the replica's loop: a malformed message (as a buggy peer could send) makes the core throw.
    const term = h.view.status.term + 1
    h.deliver({
      type: "append",
      group: 1,
      from: "n9",
      to: "n1",
      term,
      prevIndex: 0,
      prevTerm: 0,
      entries: null as unknown as [],
      commit: 0,
    })
    await waitFor(() => r.node.events.some((e) => e.health.state === "restarting"), "a restart")
    await waitFor(() => r.node.group() !== undefined && r.node.group() !== h, "the new handle")
    await cluster.awaitLeader()
    await put(cluster, "n1", "b", "2")
    expect(r.node.supervisor.health(1)).toMatchObject({ state: "running", restarts: 1 })
  }, 20_000)

  test("a failing disk stops the group and it is reported; later requests fail", async () => {
    tc = makeTestCluster(1, (o) => ({ ...o, requestTimeoutMs: 500 }))
    const { cluster } = tc
    await cluster.startAll()
    await cluster.awaitLeader()
    await put(cluster, "n1", "a", "1")
    const r = cluster.get("n1")!
    // The database goes away under the replica: the next Ready cannot be made durable.
    r.node.logStore.db.close()
    await put(cluster, "n1", "b", "2").catch(() => undefined)
    await waitFor(() => r.node.supervisor.health(1)?.state === "stopped", "the group to stop")
    const health = r.node.supervisor.health(1)!
    expect("reason" in health && health.reason).toContain("could not make a Ready durable")
    expect(r.node.group()).toBeUndefined()
    await expect(put(cluster, "n1", "c", "3")).rejects.toThrow()
  }, 20_000)
})
