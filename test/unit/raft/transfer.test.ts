import { describe, expect, test } from "bun:test"
import { Cluster, normalTexts } from "./harness.ts"

describe("raft leadership transfer", () => {
  test("transfer catches the target up, sends TimeoutNow, and the target wins at once", () => {
    const c = new Cluster(["a", "b", "c"])
    c.elect("a")
    c.tickAll(2)
    // b falls behind
    c.cut = (from, to) => to === "b" || from === "b"
    for (let i = 0; i < 5; i++) c.propose("a", `p${i}`)
    c.deliverAll()
    c.cut = () => false
    const term = c.status("a").term
    c.step("a", { type: "transferLeader", to: "b" })
    expect(c.status("a").transferee).toBe("b")
    c.deliverAll()
    expect(c.leaders()).toEqual(["b"])
    expect(c.status("b").term).toBe(term + 1)
    c.propose("b", "after")
    c.deliverAll()
    c.tickAll(2)
    expect(normalTexts(c.node("c"))).toEqual(["p0", "p1", "p2", "p3", "p4", "after"])
  })

  test("proposals are rejected with `transferring` while a transfer is under way", () => {
    const c = new Cluster(["a", "b", "c"])
    c.elect("a")
    c.tickAll(2)
    c.cut = (_f, to) => to === "b"
    c.step("a", { type: "transferLeader", to: "b" })
    const r = c.propose("a", "x", 42)
    expect(r.proposals).toEqual([{ id: 42, kind: "rejected", reason: "transferring", leader: "a" }])
    const conf = c.step("a", { type: "confChange", id: 43, change: { type: "removeNode", node: "c" } })
    expect(conf.proposals[0]).toMatchObject({ id: 43, kind: "rejected", reason: "transferring" })
  })

  test("a transfer that cannot complete times out and the leader takes proposals again", () => {
    const c = new Cluster(["a", "b", "c"], (cfg) => ({ ...cfg, transferTimeoutTicks: 6 }))
    c.elect("a")
    c.tickAll(2)
    c.cut = (_f, to) => to === "b"
    c.step("a", { type: "transferLeader", to: "b" })
    c.tickAll(5)
    expect(c.status("a").transferee).toBe("b")
    c.tickAll(1)
    expect(c.status("a").transferee).toBeNull()
    expect(c.status("a").role).toBe("leader")
    expect(c.propose("a", "y", 1).proposals[0]).toMatchObject({ kind: "appended" })
  })

  test("abortTransfer cancels a pending transfer", () => {
    const c = new Cluster(["a", "b", "c"])
    c.elect("a")
    c.tickAll(2)
    c.cut = (_f, to) => to === "b"
    c.step("a", { type: "transferLeader", to: "b" })
    c.step("a", { type: "abortTransfer" })
    expect(c.status("a").transferee).toBeNull()
    c.deliverAll() // whatever went to b is lost
    c.cut = () => false
    c.tickAll(10)
    expect(c.leaders()).toEqual(["a"])
  })
})
