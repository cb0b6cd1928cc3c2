import { describe, expect, test } from "bun:test"
import type { Entry } from "../../../schemas/raft.ts"
import { Cluster, normalTexts } from "./harness.ts"

const logOf = (c: Cluster, id: string): string[] =>
  c.node(id).store.entries.map((e) => `${e.index}:${e.term}:${e.type}`)

describe("raft log replication", () => {
  test("a follower with a long conflicting suffix is repaired with fast backtracking", () => {
    const c = new Cluster(["a", "b", "c"])
    c.elect("a")
    c.propose("a", "base")
    c.deliverAll()
    // a is cut off and piles up 60 entries nobody else gets.
    c.cut = (from, to) => from === "a" || to === "a"
    for (let i = 0; i < 60; i++) c.propose("a", `lost${i}`)
    c.tickAll(30) // b or c takes over (a steps down by CheckQuorum)
    const [leader] = c.leaders()
    expect(leader).toBeDefined()
    for (let i = 0; i < 5; i++) c.propose(leader!, `new${i}`)
    c.deliverAll()
    let rejections = 0
    c.cut = (from, _to, m) => {
      if (from === "a" && m.type === "appendResp" && m.reject) rejections++
      return false
    }
    c.tickAll(10)
    expect(logOf(c, "a")).toEqual(logOf(c, leader!))
    // one rejection gives the hint (term of the conflict + its first index) that finds the fork
    expect(rejections).toBeLessThanOrEqual(2)
    expect(normalTexts(c.node("a"))).toEqual(["base", "new0", "new1", "new2", "new3", "new4"])
  })

  test("pipelining respects maxInflightAppends and maxEntriesPerAppend", () => {
    const c = new Cluster(["a", "b", "c"], (cfg) => ({
      ...cfg,
      maxEntriesPerAppend: 2,
      maxInflightAppends: 3,
    }))
    c.elect("a")
    c.tickAll(2)
    let sent = 0
    for (let i = 0; i < 20; i++) {
      const r = c.propose("a", `p${i}`)
      for (const m of r.messages) {
        if (m.type === "append") expect(m.entries.length).toBeLessThanOrEqual(2)
      }
      sent += r.messages.filter((m) => m.type === "append" && m.to === "b").length
    }
    expect(sent).toBe(3) // the pipeline to b is full until b answers
    expect(c.status("a").progress!.b!.state).toBe("replicate")
    c.deliverAll()
    c.tickAll(4)
    expect(normalTexts(c.node("b")).length).toBe(20)
  })

  test("lost appends in replicate state are repaired through heartbeats", () => {
    const c = new Cluster(["a", "b", "c"])
    c.elect("a")
    c.tickAll(2)
    c.cut = (from, to, m) => from === "a" && to === "b" && m.type === "append"
    for (let i = 0; i < 10; i++) c.propose("a", `p${i}`)
    c.deliverAll()
    c.cut = () => false
    c.tickAll(6)
    expect(normalTexts(c.node("b")).length).toBe(10)
  })

  test("a leader commits only entries of its term (Figure 8)", () => {
    const r = figure8(undefined)
    expect(r.s1CommittedOldEntry).toBe(false)
    expect(r.conflict).toBe(false)
  })

  test('injected "commitPreviousTerm" commits an old-term entry that is later overwritten', () => {
    const r = figure8("commitPreviousTerm")
    expect(r.s1CommittedOldEntry).toBe(true)
    expect(r.conflict).toBe(true)
  })

  test("persist-before-ack: the leader's own unsynced entries do not count toward commit", () => {
    const r = unsyncedLeader(undefined)
    expect(r.committedBeforeSync).toBe(false)
    expect(r.conflict).toBe(false)
  })

  test('injected "sendBeforePersist" commits on an unsynced leader and loses an applied write', () => {
    const r = unsyncedLeader("sendBeforePersist")
    expect(r.committedBeforeSync).toBe(true)
    expect(r.conflict).toBe(true)
  })
})

type Bug = "commitPreviousTerm" | "sendBeforePersist" | undefined

/** Did two nodes apply different entries at the same index? (state machine safety) */
const appliedConflict = (a: readonly Entry[], b: readonly Entry[]): boolean => {
  const byIndex = new Map(a.map((e) => [e.index, e.term]))
  return b.some((e) => byIndex.has(e.index) && byIndex.get(e.index) !== e.term)
}

/** The Figure 8 scenario of the Raft paper, with one entry per append to expose the rule. */
const figure8 = (bug: Bug) => {
  const ids = ["s1", "s2", "s3", "s4", "s5"]
  const c = new Cluster(ids, (cfg) => ({
    ...cfg,
    checkQuorum: false,
    preVote: false,
    maxEntriesPerAppend: 1,
    injectBug: bug,
  }))
  c.elect("s1") // term 1, noop at 1 committed everywhere
  c.tickAll(2)
  // (a) s1 replicates index 2 only to s2, then crashes.
  c.cut = (from, to) => from === "s1" && to !== "s2"
  c.propose("s1", "A")
  c.deliverAll()
  c.down.add("s1")
  // (b) s5 wins term 2 with s3, s4 and appends index 2 only locally, then crashes.
  c.cut = (from, to, m) => m.type === "append" || (from === "s5" && to === "s2")
  c.elect("s5")
  expect(c.status("s5").role).toBe("leader")
  c.down.add("s5")
  // (c) s1 restarts, wins term 3, and gets index 2 (term 1) onto s3 but not its noop at 3.
  c.down.delete("s1")
  c.restart("s1")
  c.cut = (from, to, m) =>
    from === "s1" &&
    m.type === "append" &&
    (to === "s4" || (to === "s3" && c.status("s3").lastIndex >= 2 && m.entries.some((e) => e.index >= 3)))
  c.elect("s1")
  if (c.status("s1").role !== "leader") c.elect("s1")
  expect(c.status("s1").role).toBe("leader")
  c.deliverAll()
  const s1CommittedOldEntry = c.status("s1").commit >= 2
  const s1Applied = [...c.node("s1").applied]
  // (d) s1 crashes; s5 wins with s3 and s4 and overwrites index 2.
  c.down.add("s1")
  c.down.delete("s5")
  c.restart("s5")
  c.cut = () => false
  for (let i = 0; i < 3 && c.status("s5").role !== "leader"; i++) c.elect("s5")
  expect(c.status("s5").role).toBe("leader")
  c.tickAll(4)
  return { s1CommittedOldEntry, conflict: appliedConflict(s1Applied, c.node("s3").applied) }
}

/** A leader whose disk is slow: followers ack its entries before its own fsync, then it crashes. */
const unsyncedLeader = (bug: Bug) => {
  const c = new Cluster(["a", "b", "c"], (cfg) => ({ ...cfg, injectBug: bug }))
  c.elect("a")
  c.tickAll(2)
  c.node("a").ackPersist = false
  c.cut = (from, to) => (from === "a" && to === "c") || (from === "c" && to === "a")
  c.propose("a", "X")
  c.deliverAll()
  const committedBeforeSync = normalTexts(c.node("a")).includes("X")
  const aApplied = [...c.node("a").applied]
  // a crashes losing its unsynced write; b is cut off; a and c elect a leader without X.
  c.restart("a")
  c.cut = (from, to) => from === "b" || to === "b"
  c.tickAll(40)
  const [leader] = c.leaders()
  expect(leader).toBeDefined()
  c.propose(leader!, "Y")
  c.deliverAll()
  c.tickAll(3)
  const other = leader === "a" ? "c" : "a"
  return { committedBeforeSync, conflict: appliedConflict(aApplied, c.node(other).applied) }
}

describe("raft replication edge cases", () => {
  test("a delayed duplicate of an old append never truncates newer entries", () => {
    const c = new Cluster(["a", "b", "c"])
    c.elect("a")
    c.tickAll(2)
    c.propose("a", "one")
    const old = c.queue.find((m) => m.type === "append" && m.to === "b")!
    c.deliverAll()
    for (let i = 0; i < 5; i++) c.propose("a", `more${i}`)
    c.deliverAll()
    const before = c.status("b").lastIndex
    c.step("b", { type: "message", message: old })
    expect(c.status("b").lastIndex).toBe(before)
    expect(c.node("b").store.entries.length).toBe(before)
  })

  test("a stale leader learns the new term from a follower's answer and steps down", () => {
    const c = new Cluster(["a", "b", "c"])
    c.elect("a")
    c.tickAll(2)
    c.cut = (from, to) => from === "a" || to === "a"
    c.elect("b")
    c.cut = () => false
    expect(c.status("a").role).toBe("leader") // it has not heard yet
    c.tickAll(3)
    expect(c.status("a").role).toBe("follower")
    expect(c.status("a").leader).toBe("b")
  })

  test("status reports progress only on the leader", () => {
    const c = new Cluster(["a", "b", "c"])
    c.elect("a")
    c.tickAll(2)
    const s = c.status("a")
    expect(Object.keys(s.progress!).sort()).toEqual(["b", "c"])
    expect(s.progress!.b).toMatchObject({ match: s.lastIndex, next: s.lastIndex + 1, state: "replicate" })
    expect(c.status("b").progress).toBeNull()
  })
})
