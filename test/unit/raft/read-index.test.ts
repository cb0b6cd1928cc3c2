import { describe, expect, test } from "bun:test"
import { Cluster } from "./harness.ts"

const heartbeatContexts = (c: Cluster): Set<number> => {
  const seen = new Set<number>()
  for (const m of c.queue) if (m.type === "heartbeat" && m.context > 0) seen.add(m.context)
  return seen
}

describe("raft ReadIndex", () => {
  test("reads arriving while a round is in flight share one round with one context", () => {
    const c = new Cluster(["a", "b", "c"])
    c.elect("a")
    c.tickAll(2)
    c.step("a", { type: "readIndex", id: 1 }) // starts round 1 at once
    const first = heartbeatContexts(c)
    expect(first.size).toBe(1)
    const held = c.queue
    c.queue = []
    for (let id = 2; id <= 51; id++) c.step("a", { type: "readIndex", id })
    expect(c.queue.length).toBe(0) // no extra rounds while one is in flight
    c.queue = held
    c.deliverAll()
    const second = heartbeatContexts(c)
    expect(second.size).toBe(0) // round 1 released; round 2 went out and was answered
    const states = c.node("a").readStates
    expect(states.length).toBe(51)
    expect(states.every((r) => r.kind === "ready" && r.index === c.status("a").commit)).toBe(true)
  })

  test("N reads batched into one round release together after a quorum echoes the context", () => {
    const c = new Cluster(["a", "b", "c"])
    c.elect("a")
    c.tickAll(2)
    c.step("a", { type: "readIndex", id: 0 })
    const round1 = c.queue.filter((m) => m.type === "heartbeat")
    c.queue = []
    for (let id = 1; id <= 100; id++) c.step("a", { type: "readIndex", id })
    // answer round 1 from b only: a quorum (a + b) releases read 0 and starts exactly one round for 100 reads
    c.step("b", { type: "message", message: round1.find((m) => m.to === "b")! })
    const ack = c.queue.find((m) => m.type === "heartbeatResp")!
    c.queue = []
    c.step("a", { type: "message", message: ack })
    const round2 = c.queue.filter((m) => m.type === "heartbeat")
    expect(new Set(round2.map((m) => (m.type === "heartbeat" ? m.context : -1))).size).toBe(1)
    expect(c.node("a").readStates.length).toBe(1)
    c.deliverAll()
    expect(c.node("a").readStates.length).toBe(101)
  })

  test("a read is not released without a quorum", () => {
    const c = new Cluster(["a", "b", "c"])
    c.elect("a")
    c.tickAll(2)
    c.cut = (from, to) => from === "a" || to === "a"
    c.step("a", { type: "readIndex", id: 7 })
    c.tickAll(5)
    expect(c.node("a").readStates.filter((r) => r.kind === "ready")).toEqual([])
  })

  test("a leader that steps down fails its pending reads", () => {
    const c = new Cluster(["a", "b", "c"])
    c.elect("a")
    c.tickAll(2)
    c.cut = (from, to) => from === "a" || to === "a"
    c.step("a", { type: "readIndex", id: 7 })
    c.tickAll(25) // CheckQuorum makes a step down
    expect(c.status("a").role).toBe("follower")
    expect(c.node("a").readStates).toEqual([{ id: 7, kind: "failed", reason: "notLeader", leader: null }])
  })

  test("a read fails fast with noLeader when no leader is known", () => {
    const c = new Cluster(["a", "b", "c"])
    const r = c.step("b", { type: "readIndex", id: 3 })
    expect(r.readStates).toEqual([{ id: 3, kind: "failed", reason: "noLeader", leader: null }])
    expect(r.messages).toEqual([])
  })

  test("a follower forwards reads to the leader and gets the leader's read index back", () => {
    const c = new Cluster(["a", "b", "c"])
    c.elect("a")
    c.propose("a", "w")
    c.deliverAll()
    c.tickAll(2)
    c.step("b", { type: "readIndex", id: 11 })
    c.step("c", { type: "readIndex", id: 12 })
    c.deliverAll()
    const commit = c.status("a").commit
    expect(c.node("b").readStates).toEqual([{ id: 11, kind: "ready", index: commit }])
    expect(c.node("c").readStates).toEqual([{ id: 12, kind: "ready", index: commit }])
  })

  test("a new leader holds reads until it has committed an entry of its term", () => {
    const c = new Cluster(["a", "b", "c"])
    c.cut = (from, _to, m) => from === "a" && m.type === "append" // the noop cannot commit
    c.elect("a")
    expect(c.status("a").role).toBe("leader")
    c.step("a", { type: "readIndex", id: 1 })
    c.deliverAll()
    expect(c.node("a").readStates).toEqual([])
    c.cut = () => false
    c.tickAll(3)
    expect(c.node("a").readStates).toEqual([{ id: 1, kind: "ready", index: c.status("a").commit }])
  })
})

describe("raft ReadIndex forwarding failures", () => {
  test("a forwarded read is failed when its leader steps down before confirming it", () => {
    const c = new Cluster(["a", "b", "c"])
    c.elect("a")
    c.tickAll(2)
    c.cut = (_f, _t, m) => m.type === "heartbeatResp" // the round can never be confirmed
    c.step("b", { type: "readIndex", id: 5 })
    c.deliverAll()
    expect(c.status("a").pendingReads).toBe(1)
    expect(c.node("b").readStates).toEqual([])
    c.elect("c") // a steps down on c's forced election
    expect(c.status("a").role).toBe("follower")
    expect(c.node("b").readStates).toEqual([{ id: 5, kind: "failed", reason: "notLeader", leader: null }])
  })
})
