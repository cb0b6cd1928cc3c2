/**
 * A replica whose data directory was wiped comes back with an empty log while the leader knows it
 * durably matched entries: the heartbeat (commit capped at that match) tells it, and the Ready
 * reports `logLost` so the node can stop it instead of letting it vote and ack as if nothing
 * happened. A fresh learner (match 0) and a follower that kept its log report nothing.
 */
import { describe, expect, test } from "bun:test"
import { initRaft, step } from "../../../src/raft/index.ts"
import { baseConfig, Cluster } from "./harness.ts"

const heartbeat = (commit: number) =>
  ({
    type: "message",
    message: { type: "heartbeat", group: 1, from: "a", to: "b", term: 3, commit, context: 0 },
  }) as const

const emptyReplica = () =>
  initRaft(baseConfig("b"), {
    hardState: { term: 0, vote: null, commit: 0 },
    snapshot: null,
    entries: [],
    bootstrapConf: { voters: ["a", "c"], learners: [], votersOutgoing: [] },
  })

describe("a replica that lost its log", () => {
  test("a heartbeat committing past an empty log reports logLost", () => {
    const [, ready] = step(emptyReplica(), heartbeat(7))
    expect(ready.logLost).toEqual({ leader: "a", acknowledged: 7, lastIndex: 0 })
  })

  test("a fresh joiner (the leader knows no match) reports nothing", () => {
    const [, ready] = step(emptyReplica(), heartbeat(0))
    expect(ready.logLost).toBeUndefined()
  })

  test("followers that keep their logs never report it, through a whole replicated run", () => {
    const c = new Cluster(["a", "b", "c"])
    c.elect("a")
    for (let i = 0; i < 20; i++) c.propose("a", `v${i}`)
    c.deliverAll()
    let reported = 0
    let checked = 0
    c.cut = (_from, _to, m) => {
      if (m.type === "heartbeat" && m.commit > 0) {
        checked++
        const target = c.node(m.to).state
        const [, r] = step(structuredClone(target), { type: "message", message: m })
        if (r.logLost !== undefined) reported++
      }
      return false
    }
    c.tickAll(20)
    expect(checked).toBeGreaterThan(5)
    expect(reported).toBe(0)
  })
})
