/**
 * A node added with --join / add-node, then killed -9, with real processes:
 *  - restarted on the same data directory (the same command line, --join included), it rejoins as
 *    the voter it was and catches up with the writes it missed;
 *  - restarted on a wiped data directory, it must not rejoin under its old identity (its votes and
 *    acknowledged entries are gone): its group is quarantined with a message naming the remedy,
 *    the cluster keeps working, and the remedy (remove-node, clear, --join, add-node) works.
 */
import { describe, expect, test } from "bun:test"
import { rmSync } from "node:fs"
import { hasNats, processCluster } from "./process-cluster.ts"

const IDS = ["n1", "n2", "n3", "n4"]
const VOTERS = ["n1", "n2", "n3"]

describe.skipIf(!hasNats)("a --join node killed -9 and restarted", () => {
  const c = processCluster(IDS, [], { joining: ["n4"] })
  const endpoints = () => IDS.map(c.httpEndpoint).join(",")

  const waitFor = async (what: string, ok: () => Promise<boolean>, ms = 30_000) => {
    const until = performance.now() + ms
    while (performance.now() < until) {
      try {
        if (await ok()) return
      } catch {
        // not answering yet
      }
      await Bun.sleep(100)
    }
    throw new Error(`timed out waiting for ${what}`)
  }

  const addN4 = async () => {
    const add = await c.cli(["admin", "add-node", "n4", "--endpoints", endpoints(), "--timeout", "60s"])
    if (add.code !== 0) console.log(add.out, add.err, await c.logOf("n4"))
    expect(add.code).toBe(0)
    expect(add.out).toContain("node n4 is a voter")
  }

  test("same data directory: it rejoins as a voter and catches up", async () => {
    await c.leaderOf(VOTERS)
    c.spawn("n4")
    await addN4()
    const writer = c.startWriter(VOTERS)
    await writer.ackedAtLeast(30)
    await c.kill("n4")
    // 3 of 4 voters: still a quorum, writes go on while n4 is down.
    const before = writer.acked.size
    await writer.ackedAtLeast(before + 40)
    c.spawn("n4")
    await writer.ackedAtLeast(writer.acked.size + 20)
    await writer.stop()
    const leader = await c.leaderOf(IDS)
    const target = (await c.status(leader)).groups[0]!.commit
    await waitFor("n4 to catch up", async () => (await c.status("n4")).groups[0]!.applied >= target)
    const s4 = (await c.status("n4")).groups[0]!
    expect(s4.voters).toContain("n4")
    expect(s4.member).toBe(true)
    // Everything acknowledged, including what n4 missed, is readable through n4.
    await c.expectAllAcked(writer.acked, ["n4"])
  }, 180_000)

  test("wiped data directory: quarantined with the remedy; the remedy works", async () => {
    await c.kill("n4")
    rmSync(c.dataDir("n4"), { recursive: true, force: true })
    c.spawn("n4")
    await waitFor("n4 to report the lost log", async () =>
      (await c.logOf("n4")).includes("lost its Raft log"),
    )
    const log = await c.logOf("n4")
    expect(log).toContain("lattice admin remove-node n4")
    expect(log).toContain("lattice admin add-node n4")
    await waitFor(
      "n4 to report its group quarantined",
      async () => (await c.status("n4")).groups[0]!.health?.state === "quarantined",
    )
    // The cluster keeps working without it, and n4 never became a voter with an empty log.
    const writer = c.startWriter(VOTERS)
    await writer.ackedAtLeast(20)
    await writer.stop()

    // The remedy, as the message says.
    const rm = await c.cli([
      "admin",
      "remove-node",
      "n4",
      "--endpoints",
      VOTERS.map(c.httpEndpoint).join(","),
    ])
    expect(rm.code).toBe(0)
    await c.kill("n4")
    rmSync(c.dataDir("n4"), { recursive: true, force: true })
    c.spawn("n4")
    await addN4()
    const leader = await c.leaderOf(IDS)
    const target = (await c.status(leader)).groups[0]!.commit
    await waitFor("n4 to catch up", async () => (await c.status("n4")).groups[0]!.applied >= target)
    await c.expectAllAcked(writer.acked, ["n4"])
  }, 180_000)
})
