import { describe, expect, test } from "bun:test"
import { confStateAt, initRaft, termOf } from "../../../src/raft/index.ts"
import { Cluster, normalTexts, text } from "./harness.ts"

/** The harness state machine: the list of applied commands, encoded as JSON. */
const takeSnapshot = (c: Cluster, id: string, keepEntries: number) => {
  const n = c.node(id)
  const index = c.status(id).applied
  const data = new TextEncoder().encode(JSON.stringify(normalTexts(n)))
  const meta = { index, term: termOf(n.state, index), conf: confStateAt(n.state, index)! }
  n.store.snapshot = { meta, data } // the caller persists the snapshot it took
  return c.step(id, { type: "snapshotTaken", snapshot: { meta, data }, keepEntries })
}

describe("raft snapshots", () => {
  test("compaction keeps `keepEntries` below the snapshot and reports compactTo", () => {
    const c = new Cluster(["a", "b", "c"])
    c.elect("a")
    for (let i = 0; i < 20; i++) c.propose("a", `p${i}`)
    c.deliverAll()
    c.tickAll(2)
    const applied = c.status("a").applied
    const r = takeSnapshot(c, "a", 5)
    expect(r.compactTo).toBe(applied - 5)
    expect(c.status("a").firstIndex).toBe(applied - 4)
    expect(c.node("a").store.entries[0]!.index).toBe(applied - 4)
  })

  test("a follower behind the log floor gets InstallSnapshot and then normal appends", () => {
    const c = new Cluster(["a", "b", "c"])
    c.elect("a")
    c.tickAll(2)
    c.down.add("c")
    for (let i = 0; i < 30; i++) c.propose("a", `p${i}`)
    c.deliverAll()
    c.tickAll(2)
    takeSnapshot(c, "a", 2)
    c.down.delete("c")
    let snapshots = 0
    c.cut = (_f, _t, m) => {
      if (m.type === "snapshot") snapshots++
      return false
    }
    c.tickAll(4)
    expect(snapshots).toBe(1)
    const cs = c.node("c").store
    expect(cs.snapshot).not.toBeNull()
    const restored = JSON.parse(new TextDecoder().decode(cs.snapshot!.data)) as string[]
    expect(restored.length).toBe(30)
    c.propose("a", "after")
    c.deliverAll()
    c.tickAll(2)
    expect(c.node("c").applied.map(text)).toContain("after")
    expect(c.status("c").commit).toBe(c.status("a").commit)
    expect(c.status("a").progress!.c!.state).toBe("replicate")
  })

  test("a lost InstallSnapshot is retried after an election timeout", () => {
    const c = new Cluster(["a", "b", "c"])
    c.elect("a")
    c.tickAll(2)
    c.down.add("c")
    for (let i = 0; i < 10; i++) c.propose("a", `p${i}`)
    c.deliverAll()
    c.tickAll(2)
    takeSnapshot(c, "a", 0)
    c.down.delete("c")
    let snapshots = 0
    c.cut = (_f, _t, m) => m.type === "snapshot" && ++snapshots === 1 // the first one is lost
    c.tickAll(30)
    expect(snapshots).toBe(2)
    expect(c.node("c").store.snapshot).not.toBeNull()
  })

  test("a node restarts from snapshot + log + hard state", () => {
    const c = new Cluster(["a", "b", "c"])
    c.elect("a")
    for (let i = 0; i < 10; i++) c.propose("a", `p${i}`)
    c.deliverAll()
    c.tickAll(2)
    takeSnapshot(c, "b", 3)
    for (let i = 10; i < 15; i++) c.propose("a", `p${i}`)
    c.deliverAll()
    c.tickAll(2)
    const before = c.status("b")
    c.restart("b")
    const after = c.status("b")
    expect(after.term).toBe(before.term)
    expect(after.vote).toBe(before.vote)
    expect(after.lastIndex).toBe(before.lastIndex)
    expect(after.commit).toBe(before.commit)
    expect(after.conf).toEqual(before.conf)
    expect(after.role).toBe("follower")
    expect(after.leader).toBeNull()
    // re-applies only what the snapshot does not cover
    c.tickAll(3)
    const reapplied = normalTexts(c.node("b"))
    expect(reapplied).toEqual(["p10", "p11", "p12", "p13", "p14"])
  })

  test("a whole cluster restarts and carries on", () => {
    const c = new Cluster(["a", "b", "c"])
    c.elect("a")
    c.propose("a", "x")
    c.deliverAll()
    c.tickAll(2)
    for (const id of ["a", "b", "c"]) c.restart(id)
    c.tickAll(40)
    const [leader] = c.leaders()
    expect(leader).toBeDefined()
    c.propose(leader!, "y")
    c.deliverAll()
    c.tickAll(2)
    for (const id of ["a", "b", "c"]) expect(normalTexts(c.node(id))).toEqual(["x", "y"])
  })
})

describe("raft restart with a durable state machine", () => {
  test("PersistedState.applied skips re-handing entries the state machine already holds", () => {
    const c = new Cluster(["a", "b", "c"])
    c.elect("a")
    for (let i = 0; i < 6; i++) c.propose("a", `p${i}`)
    c.deliverAll()
    c.tickAll(2)
    const n = c.node("b")
    const applied = n.state.applied
    n.state = initRaft(n.config, {
      hardState: n.store.hardState,
      snapshot: null,
      entries: n.store.entries,
      bootstrapConf: n.bootstrap,
      applied: applied - 2,
    })
    n.applied = []
    c.tickAll(2)
    expect(normalTexts(n)).toEqual(["p4", "p5"])
  })
})

describe("raft proposeBatch", () => {
  test("a batch is appended in order with one append message per follower", () => {
    const c = new Cluster(["a", "b", "c"])
    c.elect("a")
    c.tickAll(2)
    const data = (t: string) => new TextEncoder().encode(t)
    const r = c.step("a", {
      type: "proposeBatch",
      proposals: [1, 2, 3].map((id) => ({ id, data: data(`b${id}`) })),
    })
    expect(r.proposals.map((p) => p.kind)).toEqual(["appended", "appended", "appended"])
    expect(r.messages.filter((m) => m.type === "append").length).toBe(2)
    c.deliverAll()
    c.tickAll(2)
    expect(normalTexts(c.node("c"))).toEqual(["b1", "b2", "b3"])
    const f = c.step("b", { type: "proposeBatch", proposals: [{ id: 9, data: data("x") }] })
    expect(f.proposals).toEqual([{ id: 9, kind: "rejected", reason: "notLeader", leader: "a" }])
  })
})
