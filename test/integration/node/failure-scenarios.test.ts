/**
 * Failure scenarios from the HA guide with real `lattice start` processes over a real
 * nats-server, each node behind its own TCP proxy so a test can cut one node's network:
 *  - network partition: the isolated leader (the minority) serves no linearizable reads or writes
 *    (UNAVAILABLE) but still serves serializable ones; the majority elects a leader and keeps
 *    taking writes; after healing there is one leader, the replicas converge, and no acknowledged
 *    write is lost (no split brain);
 *  - operator verbs through the CLI binary: compact-log, add-node (a --join process catches up by
 *    snapshot and is promoted), remove-node of the leader.
 */
import { describe, expect, test } from "bun:test"
import { hasNats, processCluster, snapshotIndex } from "./process-cluster.ts"

const b64 = (s: string) => Buffer.from(s).toString("base64")

describe.skipIf(!hasNats)("network partition through a TCP proxy per node", () => {
  const IDS = ["n1", "n2", "n3"]
  const c = processCluster(IDS, ["--set", "limits.request_timeout_ms=2000"], { proxied: true })

  test("minority UNAVAILABLE, majority keeps working, no split brain after healing", async () => {
    const leader = await c.leaderOf(IDS)
    const majority = IDS.filter((id) => id !== leader)
    const before = c.startWriter(IDS)
    await before.ackedAtLeast(20)
    await before.stop()

    const writer = c.startWriter(majority)
    const cutAt = performance.now()
    c.proxy(leader).cut()
    // The majority elects a new leader and keeps acknowledging writes.
    const next = await c.leaderOf(majority)
    expect(next).not.toBe(leader)
    const acked0 = writer.acked.size
    await writer.ackedAtLeast(acked0 + 1)
    const recoveredMs = performance.now() - cutAt
    await writer.ackedAtLeast(acked0 + 30)

    // The minority: no linearizable read, no write; a serializable read is still local.
    const lin = await c.call(leader, "/v3/kv/range", { key: b64("k0") })
    expect(lin.status).toBe(503)
    const put = await c.call(leader, "/v3/kv/put", { key: b64("minority"), value: b64("x") })
    expect(put.status).not.toBe(200)
    const ser = await c.call(leader, "/v3/kv/range", { key: b64("k0"), serializable: true })
    expect(ser.status).toBe(200)
    const st = await c.status(leader)
    expect(st.groups[0]!.role).not.toBe("leader")

    c.proxy(leader).heal()
    await writer.ackedAtLeast(writer.acked.size + 20)
    await writer.stop()
    // One leader agreed by all, in one term.
    const healed = await c.leaderOf(IDS)
    const reports = await Promise.all(IDS.map((id) => c.status(id)))
    expect(reports.filter((r) => r.groups[0]!.role === "leader").map((r) => r.node)).toEqual([healed])
    // The replicas converge: same commit, applied and revision everywhere.
    let converged = false
    for (let i = 0; i < 200 && !converged; i++) {
      const rs = await Promise.all(IDS.map((id) => c.status(id)))
      const g = rs.map((r) => r.groups[0]!)
      converged =
        new Set(g.map((x) => x.applied)).size === 1 &&
        new Set(g.map((x) => x.revision)).size === 1 &&
        new Set(g.map((x) => x.term)).size === 1
      if (!converged) await Bun.sleep(50)
    }
    expect(converged).toBe(true)
    // The minority's write never took effect; every acknowledged write did, on every node.
    const minority = await c.call(healed, "/v3/kv/range", { key: b64("minority") })
    expect(minority.json.kvs ?? []).toEqual([])
    await c.expectAllAcked(new Map([...before.acked, ...writer.acked]))
    console.log(
      `partition: leader ${leader} cut; ${next} elected and the next write acknowledged after ${recoveredMs.toFixed(0)} ms (machine shared with other jobs)`,
    )
  }, 90_000)
})

describe.skipIf(!hasNats)("operator verbs through the CLI against processes", () => {
  const IDS = ["n1", "n2", "n3", "n4"]
  const c = processCluster(IDS, [], { joining: ["n4"] })
  const endpoints = () => IDS.map(c.httpEndpoint).join(",")

  test("compact-log, then add-node n4 (catches up by snapshot, promoted), then remove-node of the leader", async () => {
    const voters = ["n1", "n2", "n3"]
    const leader = await c.leaderOf(voters)
    const writer = c.startWriter(voters)
    await writer.ackedAtLeast(60)

    const follower = voters.find((id) => id !== leader)!
    const snap = await c.cli(["admin", "snapshot", follower, "--endpoints", c.httpEndpoint(leader)])
    expect(snap.code).toBe(0)
    expect(snapshotIndex(c.dataDir(follower))).toBeGreaterThan(0)
    // The weekly maintenance loop of the operations manual: every voter compacts (whichever leads
    // when n4 joins has no log before its snapshot, so n4 must catch up by InstallSnapshot).
    for (const id of voters) {
      const other = voters.find((v) => v !== id)!
      const compact = await c.cli(["admin", "compact-log", id, "5", "--endpoints", c.httpEndpoint(other)])
      expect(compact.err).toBe("")
      expect(compact.code).toBe(0)
      expect(compact.out).toContain(`compact-log on node ${id}: snapshot at index`)
    }

    c.spawn("n4")
    const add = await c.cli(["admin", "add-node", "n4", "--endpoints", endpoints(), "--timeout", "60s"])
    if (add.code !== 0)
      console.log(add.out, add.err, await c.logOf("n4"), JSON.stringify(await c.status(leader)))
    expect(add.code).toBe(0)
    expect(add.out).toContain("node n4 added as a learner")
    expect(add.out).toContain("node n4 is a voter")
    const s4 = await c.status("n4")
    expect(s4.groups[0]!.voters).toContain("n4")
    expect(s4.version).toBeString()
    // It caught up from the leader's snapshot (the log before it was compacted away).
    expect(snapshotIndex(c.dataDir("n4"))).toBeGreaterThan(0)

    const rm = await c.cli(["admin", "remove-node", leader, "--endpoints", endpoints()])
    expect(rm.code).toBe(0)
    expect(rm.out).toContain(`node ${leader} removed`)
    const rest = IDS.filter((id) => id !== leader)
    const next = await c.leaderOf(rest)
    expect(next).not.toBe(leader)
    await writer.stop()
    const writer2 = c.startWriter(rest)
    await writer2.ackedAtLeast(20)
    await writer2.stop()
    for (let i = 0; i < 100 && !(await c.logOf(leader)).includes("was removed from group 1"); i++)
      await Bun.sleep(50)
    expect(await c.logOf(leader)).toContain(`node ${leader} was removed from group 1`)
    const removed = await c.status(leader)
    expect(removed.groups[0]!.member).toBe(false)
    expect(removed.healthy).toBe(false)
    await c.expectAllAcked(new Map([...writer.acked, ...writer2.acked]), rest)
  }, 120_000)
})
