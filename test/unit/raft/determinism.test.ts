import { describe, expect, test } from "bun:test"
import { Cluster } from "./harness.ts"

const run = (seed: number): string[] => {
  const c = new Cluster(["a", "b", "c", "d", "e"], (cfg) => cfg, undefined, seed)
  // a lossy, seed-driven network: drop every message whose hash says so
  let k = seed
  c.cut = () => {
    k = (Math.imul(k ^ (k >>> 13), 0x5bd1e995) + 1) | 0
    return (k & 7) === 0
  }
  for (let round = 0; round < 60; round++) {
    c.tickAll(1)
    const [leader] = c.leaders()
    if (leader !== undefined && round % 3 === 0) c.propose(leader, `r${round}`)
  }
  return c.trace
}

describe("raft determinism", () => {
  test("the same seed gives the identical message trace", () => {
    const t1 = run(7)
    const t2 = run(7)
    expect(t1.length).toBeGreaterThan(100)
    expect(t2).toEqual(t1)
  })

  test("a different seed gives a different trace", () => {
    expect(run(8)).not.toEqual(run(7))
  })
})

describe("raft multi-group", () => {
  test("messages for another group are ignored and counted", () => {
    const c = new Cluster(["a", "b", "c"])
    const before = c.status("b")
    const r = c.step("b", {
      type: "message",
      message: {
        type: "vote",
        group: 2,
        from: "a",
        to: "b",
        term: 9,
        lastIndex: 9,
        lastTerm: 9,
        force: true,
      },
    })
    expect(r.messages).toEqual([])
    expect(c.status("b").term).toBe(before.term)
    expect(c.status("b").foreignMessages).toBe(1)
  })

  test("every message names the group", () => {
    const c = new Cluster(["a", "b", "c"], (cfg) => ({ ...cfg, group: 42 }))
    const groups = new Set<number>()
    c.cut = (_f, _t, m) => {
      groups.add(m.group)
      return false
    }
    c.tickAll(40)
    expect(c.leaders().length).toBe(1)
    expect([...groups]).toEqual([42])
  })
})
