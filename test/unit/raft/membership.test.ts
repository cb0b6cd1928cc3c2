import { describe, expect, test } from "bun:test"
import type { ConfChange } from "../../../schemas/raft.ts"
import { Cluster, normalTexts } from "./harness.ts"

const change = (c: Cluster, leader: string, ch: ConfChange, id = 1) => {
  const r = c.step(leader, { type: "confChange", id, change: ch })
  c.deliverAll()
  c.tickAll(2)
  return r.proposals[0]!
}

describe("raft membership (one-at-a-time)", () => {
  test("add a learner, let it catch up, promote it to voter", () => {
    const c = new Cluster(["a", "b", "c"])
    c.elect("a")
    c.tickAll(2)
    for (let i = 0; i < 3; i++) c.propose("a", `p${i}`)
    c.deliverAll()
    c.addNode("d", { voters: ["a", "b", "c"], learners: [], votersOutgoing: [] })
    expect(change(c, "a", { type: "addLearner", node: "d" })).toMatchObject({ kind: "appended" })
    c.tickAll(4)
    expect(c.status("d").role).toBe("learner")
    expect(normalTexts(c.node("d"))).toEqual(["p0", "p1", "p2"])
    expect(c.status("a").progress!.d!.match).toBe(c.status("a").lastIndex)
    expect(change(c, "a", { type: "addVoter", node: "d" }, 2)).toMatchObject({ kind: "appended" })
    expect(c.status("d").role).toBe("follower")
    expect(c.status("a").conf.voters).toEqual(["a", "b", "c", "d"])
    // d now counts: with b and c down, a + d are not a quorum of 4
    c.down.add("b")
    c.down.add("c")
    c.propose("a", "stuck")
    c.deliverAll()
    expect(normalTexts(c.node("d"))).not.toContain("stuck")
  })

  test("at most one conf change is uncommitted", () => {
    const c = new Cluster(["a", "b", "c"])
    c.elect("a")
    c.tickAll(2)
    c.cut = (from) => from === "a"
    const r1 = c.step("a", { type: "confChange", id: 1, change: { type: "addLearner", node: "x" } })
    expect(r1.proposals[0]).toMatchObject({ kind: "appended" })
    const r2 = c.step("a", { type: "confChange", id: 2, change: { type: "addLearner", node: "y" } })
    expect(r2.proposals[0]).toMatchObject({ kind: "rejected", reason: "confChangeInProgress" })
  })

  test("a new leader may not change membership before an entry of its term commits", () => {
    const c = new Cluster(["a", "b", "c"])
    c.cut = (from, _to, m) => from === "a" && m.type === "append"
    c.elect("a")
    const r = c.step("a", { type: "confChange", id: 1, change: { type: "removeNode", node: "c" } })
    expect(r.proposals[0]).toMatchObject({ kind: "rejected", reason: "confChangeInProgress" })
  })

  test("invalid changes are refused", () => {
    const c = new Cluster(["a", "b", "c"])
    c.elect("a")
    c.tickAll(2)
    const r = c.step("a", { type: "confChange", id: 1, change: { type: "addVoter", node: "b" } })
    expect(r.proposals[0]).toMatchObject({ kind: "rejected", reason: "notVoter" })
    const f = c.step("b", { type: "confChange", id: 2, change: { type: "addVoter", node: "z" } })
    expect(f.proposals[0]).toMatchObject({ kind: "rejected", reason: "notLeader", leader: "a" })
  })

  test("removing the leader: it leads until the change commits, then steps down and others elect", () => {
    const c = new Cluster(["a", "b", "c"])
    c.elect("a")
    c.tickAll(2)
    expect(change(c, "a", { type: "removeNode", node: "a" })).toMatchObject({ kind: "appended" })
    expect(c.status("a").role).toBe("follower")
    expect(c.status("b").conf.voters).toEqual(["b", "c"])
    c.tickAll(30)
    const leaders = c.leaders()
    expect(leaders.length).toBe(1)
    expect(leaders[0]).not.toBe("a")
    c.propose(leaders[0]!, "after")
    c.deliverAll()
    c.tickAll(2)
    expect(normalTexts(c.node("b"))).toEqual(["after"])
    expect(c.status("a").role).toBe("follower") // a never campaigns again
  })

  test("removing a follower shrinks the quorum", () => {
    const c = new Cluster(["a", "b", "c"])
    c.elect("a")
    c.tickAll(2)
    change(c, "a", { type: "removeNode", node: "c" })
    c.down.add("c")
    c.propose("a", "two-of-two")
    c.deliverAll()
    c.tickAll(2)
    expect(normalTexts(c.node("b"))).toEqual(["two-of-two"])
    expect(c.status("a").progress!.c).toBeUndefined()
  })

  test("a removed follower receives its removal, then never campaigns", () => {
    const c = new Cluster(["a", "b", "c"])
    c.elect("a")
    c.tickAll(2)
    change(c, "a", { type: "removeNode", node: "c" })
    expect(c.status("c").conf.voters).toEqual(["a", "b"])
    const term = c.status("a").term
    c.tickAll(100)
    expect(c.status("c").role).toBe("follower")
    expect(c.status("a").term).toBe(term)
    expect(c.leaders()).toEqual(["a"])
  })

  test("a truncated conf entry is reverted; restart rebuilds membership from the log", () => {
    const c = new Cluster(["a", "b", "c"])
    c.elect("a")
    c.tickAll(2)
    c.cut = (from, to) => from === "a" || to === "a"
    c.step("a", { type: "confChange", id: 1, change: { type: "addLearner", node: "x" } })
    expect(c.status("a").conf.learners).toEqual(["x"]) // effective once appended
    c.tickAll(30)
    const [leader] = c.leaders()
    c.propose(leader!, "v")
    c.deliverAll()
    c.cut = () => false
    c.tickAll(5)
    expect(c.status("a").conf.learners).toEqual([]) // the entry was truncated away
    change(c, leader!, { type: "addLearner", node: "y" })
    c.restart("b")
    expect(c.status("b").conf.learners).toEqual(["y"])
  })
  test("demoting a follower to learner: it keeps receiving the log, its ack no longer counts", () => {
    const c = new Cluster(["a", "b", "c"])
    c.elect("a")
    c.tickAll(2)
    expect(change(c, "a", { type: "demoteToLearner", node: "c" })).toMatchObject({ kind: "appended" })
    expect(c.status("a").conf).toMatchObject({ voters: ["a", "b"], learners: ["c"] })
    expect(c.status("c").role).toBe("learner")
    c.propose("a", "replicated")
    c.deliverAll()
    c.tickAll(2)
    expect(normalTexts(c.node("c"))).toEqual(["replicated"])
    // a + b are the quorum now: with b down nothing commits, even though c acknowledges
    c.down.add("b")
    c.propose("a", "stuck")
    c.deliverAll()
    c.tickAll(2)
    expect(c.status("c").lastIndex).toBe(c.status("a").lastIndex) // c has it...
    expect(c.status("a").commit).toBeLessThan(c.status("a").lastIndex) // ...but it does not count
    // the learner never campaigns, and can be promoted back
    c.down.delete("b")
    c.tickAll(50)
    expect(c.leaders()).toEqual(["a"])
    expect(change(c, "a", { type: "addVoter", node: "c" }, 2)).toMatchObject({ kind: "appended" })
    expect(c.status("c").role).toBe("follower")
  })

  test("the leader demoting itself leads until the change commits, then hands over and observes", () => {
    const c = new Cluster(["a", "b", "c"])
    c.elect("a")
    c.tickAll(2)
    expect(change(c, "a", { type: "demoteToLearner", node: "a" })).toMatchObject({ kind: "appended" })
    c.tickAll(30)
    const leaders = c.leaders()
    expect(leaders.length).toBe(1)
    expect(leaders[0]).not.toBe("a")
    expect(c.status("a").role).toBe("learner")
    c.propose(leaders[0]!, "after")
    c.deliverAll()
    c.tickAll(2)
    expect(normalTexts(c.node("a"))).toEqual(["after"])
  })

  test("demoting a learner or the last voter is refused", () => {
    const c = new Cluster(["a"])
    c.elect("a")
    c.tickAll(2)
    const r = c.step("a", { type: "confChange", id: 1, change: { type: "demoteToLearner", node: "a" } })
    expect(r.proposals[0]).toMatchObject({ kind: "rejected", reason: "notVoter" })
    const c3 = new Cluster(["a", "b", "c"])
    c3.elect("a")
    c3.tickAll(2)
    change(c3, "a", { type: "demoteToLearner", node: "c" })
    c3.tickAll(2)
    const again = c3.step("a", { type: "confChange", id: 2, change: { type: "demoteToLearner", node: "c" } })
    expect(again.proposals[0]).toMatchObject({ kind: "rejected", reason: "notVoter" })
  })
})
