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
})
