/**
 * SIGTERM on `lattice start` (systemd stop, kill) with real processes: the node drains first —
 * a leader hands leadership over before it exits — then exits 0, while SDK clients (default
 * retry policy) see no failed operation; it stays a voter. A second SIGTERM exits at once.
 */
import { describe, expect, test } from "bun:test"
import { hasNats, processCluster } from "./process-cluster.ts"
import { expectNoLostWrites, startLoad } from "./sdk-load.ts"

const ids = ["n1", "n2", "n3"]

const waitForLog = async (c: ReturnType<typeof processCluster>, id: string, text: string, ms: number) => {
  const until = performance.now() + ms
  while (performance.now() < until) {
    if ((await c.logOf(id)).includes(text)) return
    await Bun.sleep(20)
  }
  throw new Error(`node ${id} did not log "${text}" within ${ms} ms`)
}

describe.skipIf(!hasNats)("SIGTERM stops a node gracefully", () => {
  const c = processCluster(ids, ["--set", "admin.shutdown_grace_period_seconds=10"])

  test("the leader drains, hands leadership over, exits 0; no client operation fails", async () => {
    const leader = await c.leaderOf(ids)
    const rest = ids.filter((id) => id !== leader)
    const load = startLoad(
      ids.map((id) => c.etcdEndpoint(id)),
      3,
    )
    await Bun.sleep(1000)
    c.signal(leader, "SIGTERM")
    expect(await c.exitCode(leader, 30_000)).toBe(0)
    const log = await c.logOf(leader)
    expect(log).toContain(`lattice: SIGTERM: draining node ${leader} before stopping`)
    // Leadership moved during the drain, before the process exited: no election was needed.
    const moved = /transfer_leadership done: leadership moved to (n\d)/.exec(log)?.[1]
    expect(rest).toContain(moved ?? "none")
    expect(log).toContain("watch(es) cancelled")
    expect(log).toContain("become_observer skipped")
    expect(log).toContain(`lattice: drain drained, stopping node ${leader}`)
    expect(await c.leaderOf(rest)).toBe(moved!)
    await Bun.sleep(1000)
    await load.stop()
    expect(load.failures).toEqual([])
    expect(load.history.length).toBeGreaterThan(20)
    await expectNoLostWrites(
      load,
      rest.map((id) => c.etcdEndpoint(id)),
    )
    // The membership is unchanged (a shutdown drain does not demote): it rejoins as a voter.
    expect([...(await c.status(moved!)).groups[0]!.voters].sort()).toEqual(ids)
    c.spawn(leader)
    expect(await c.leaderOf(ids)).toBe(moved!)
  }, 120_000)

  test("a second SIGTERM stops the node at once, mid-drain", async () => {
    const leader = await c.leaderOf(ids)
    const rest = ids.filter((id) => id !== leader)
    // Frozen followers: the leadership transfer cannot finish, so the drain waits in step 5.
    for (const id of rest) c.signal(id, "SIGSTOP")
    try {
      c.signal(leader, "SIGTERM")
      await waitForLog(c, leader, "transfer_leadership", 10_000)
      const before = performance.now()
      c.signal(leader, "SIGTERM")
      expect(await c.exitCode(leader, 5000)).toBe(128 + 15)
      expect(performance.now() - before).toBeLessThan(5000)
      const log = await c.logOf(leader)
      expect(log).toContain("SIGTERM again: stopping now without finishing the graceful shutdown")
      expect(log).not.toContain(`lattice: drain drained, stopping node ${leader}`)
    } finally {
      for (const id of rest) c.signal(id, "SIGCONT")
    }
    c.spawn(leader)
    await c.leaderOf(ids)
  }, 120_000)
})
