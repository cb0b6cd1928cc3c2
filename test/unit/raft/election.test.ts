import { describe, expect, test } from "bun:test"
import { Cluster, normalTexts } from "./harness.ts"

describe("raft election and replication", () => {
  test("a cluster elects exactly one leader by timeout and replicates a proposal", () => {
    const c = new Cluster(["a", "b", "c"])
    c.tickAll(40)
    const leaders = c.leaders()
    expect(leaders.length).toBe(1)
    const leader = leaders[0]!
    c.propose(leader, "x=1")
    c.deliverAll()
    c.tickAll(3)
    for (const id of ["a", "b", "c"]) expect(normalTexts(c.node(id))).toEqual(["x=1"])
    const term = c.status(leader).term
    for (const id of ["a", "b", "c"]) {
      expect(c.status(id).term).toBe(term)
      expect(c.status(id).leader).toBe(leader)
    }
  })

  test("votes are persisted: a restarted voter does not vote twice in one term", () => {
    const c = new Cluster(["a", "b", "c"], (cfg) => ({ ...cfg, preVote: false, checkQuorum: false }))
    const ask = (from: string) =>
      c.step("b", {
        type: "message",
        message: { type: "vote", group: 1, from, to: "b", term: 5, lastIndex: 0, lastTerm: 0, force: false },
      }).messages[0]
    expect(ask("a")).toMatchObject({ type: "voteResp", reject: false, term: 5 })
    expect(c.node("b").store.hardState).toMatchObject({ term: 5, vote: "a" })
    c.restart("b")
    expect(ask("c")).toMatchObject({ type: "voteResp", reject: true })
    expect(ask("a")).toMatchObject({ type: "voteResp", reject: false })
  })

  test("a learner never campaigns, and its vote does not count", () => {
    const c = new Cluster(["a", "b", "l"], (x) => x, ["a", "b"], 1, ["l"])
    expect(c.status("l").role).toBe("learner")
    c.step("l", { type: "campaign" })
    expect(c.status("l").role).toBe("learner")
    c.down.add("b")
    c.step("a", { type: "campaign" })
    c.deliverAll()
    c.tickAll(50)
    expect(c.status("a").role).not.toBe("leader") // l cannot stand in for b
    c.down.delete("b")
    c.tickAll(50)
    expect(c.leaders().length).toBe(1)
    expect(c.leaders()[0]).not.toBe("l")
  })

  test("campaign input forces an election on a chosen voter even under a live leader", () => {
    const c = new Cluster(["a", "b", "c"])
    c.elect("a")
    c.tickAll(5)
    expect(c.leaders()).toEqual(["a"])
    c.elect("b")
    expect(c.leaders()).toEqual(["b"])
    c.tickAll(5)
    expect(c.leaders()).toEqual(["b"])
  })

  test("PreVote: a partitioned node rejoining does not bump the term or disturb the leader", () => {
    const c = new Cluster(["a", "b", "c"])
    c.elect("a")
    c.tickAll(5)
    const term = c.status("a").term
    c.cut = (from, to) => from === "c" || to === "c"
    c.tickAll(200) // c keeps pre-campaigning, never winning, never bumping its term
    expect(c.status("c").term).toBe(term)
    expect(c.status("c").role).toBe("preCandidate")
    c.cut = () => false
    c.tickAll(20)
    expect(c.leaders()).toEqual(["a"])
    expect(c.status("a").term).toBe(term)
    expect(c.status("c").leader).toBe("a")
  })

  test("without PreVote a rejoining node does disturb the term (the test can fail)", () => {
    const c = new Cluster(["a", "b", "c"], (cfg) => ({ ...cfg, preVote: false, checkQuorum: false }))
    c.elect("a")
    const term = c.status("a").term
    c.cut = (from, to) => from === "c" || to === "c"
    c.tickAll(100)
    expect(c.status("c").term).toBeGreaterThan(term)
    c.cut = () => false
    c.tickAll(40)
    expect(c.status("a").term).toBeGreaterThan(term)
  })

  test("CheckQuorum: a leader cut off from its quorum steps down within an election timeout", () => {
    const c = new Cluster(["a", "b", "c"])
    c.elect("a")
    c.tickAll(3)
    c.cut = (from, to) => from === "a" || to === "a"
    c.tickAll(25)
    expect(c.status("a").role).toBe("follower")
    expect(c.status("a").leader).toBeNull()
    // the majority side elected a new leader meanwhile
    const others = c.leaders()
    expect(others.length).toBe(1)
    expect(others[0]).not.toBe("a")
  })

  test("leader lease: a follower hearing from its leader ignores a forced-free vote request", () => {
    const c = new Cluster(["a", "b", "c"])
    c.elect("a")
    const term = c.status("a").term
    // c's pre-vote/vote at a higher term is ignored by b (in lease) and a.
    const ready = c.step("c", { type: "tick" })
    expect(ready.messages.length).toBe(0)
    c.node("c").state.electionElapsed = 1_000
    c.tick("c")
    c.deliverAll()
    expect(c.status("a").role).toBe("leader")
    expect(c.status("b").term).toBe(term)
  })

  test("a pre-candidate ignored by a voter with a tick of lease left asks again and wins at once", () => {
    const c = new Cluster(["a", "b", "c"])
    c.elect("a")
    c.tickAll(2)
    c.down.add("a") // the leader dies
    // c's own timer must not decide the outcome: only b campaigns here.
    c.node("c").state.randomizedElectionTimeout = 1000
    const b = c.node("b").state
    // b's timer fires while c's clock is one tick behind: c is still in its leader lease.
    c.tick("c", 8)
    c.tick("b", b.randomizedElectionTimeout)
    c.deliverAll()
    expect(c.status("b").role).toBe("preCandidate")
    expect(c.leaders()).toEqual([])
    // c's lease ends with its next tick; b's next heartbeat-interval retry gets the pre-vote.
    c.tick("c", 2)
    for (let i = 0; i < 2; i++) {
      c.tick("b")
      c.deliverAll()
    }
    expect(c.leaders()).toEqual(["b"])
    expect(c.status("c").leader).toBe("b")
  })

  test("two pre-candidates with equal logs do not split the vote: the lower id wins in one term", () => {
    const c = new Cluster(["a", "b", "c"])
    c.elect("c")
    c.tickAll(2)
    const term = c.status("c").term
    c.down.add("c") // the leader dies
    // Both followers' timers fire in the same instant: each sends its pre-vote before seeing the other's.
    for (const id of ["a", "b"]) c.tick(id, c.node(id).state.randomizedElectionTimeout)
    expect([c.status("a").role, c.status("b").role]).toEqual(["preCandidate", "preCandidate"])
    c.deliverAll()
    expect(c.leaders()).toEqual(["a"])
    expect(c.status("a").term).toBe(term + 1)
    expect(c.status("b").leader).toBe("a")
  })

  test("a single-voter cluster elects itself and commits after its own persist", () => {
    const c = new Cluster(["a"])
    c.node("a").ackPersist = false
    c.tickAll(30)
    expect(c.leaders()).toEqual(["a"])
    c.propose("a", "v")
    expect(c.status("a").commit).toBe(0)
    c.flushPersist("a")
    expect(c.status("a").commit).toBe(2)
    expect(normalTexts(c.node("a"))).toEqual(["v"])
  })

  test("the real election after a won PreVote does not override leases; transfer and campaign do", () => {
    const c = new Cluster(["a", "b", "c"])
    const forces: boolean[] = []
    c.cut = (_f, _t, m) => {
      if (m.type === "vote") forces.push(m.force)
      return false
    }
    c.tickAll(40) // elected by timeout: PreVote, then the real vote
    expect(c.leaders().length).toBe(1)
    expect(forces.length).toBeGreaterThan(0)
    expect(forces.every((f) => !f)).toBe(true)
    forces.length = 0
    const other = ["a", "b", "c"].find((id) => id !== c.leaders()[0])!
    c.elect(other)
    expect(forces.length).toBeGreaterThan(0)
    expect(forces.every((f) => f)).toBe(true)
  })
})
