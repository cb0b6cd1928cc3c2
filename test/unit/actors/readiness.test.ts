/**
 * Readiness over a stand-in replica: the ReadIndex probe's proof is filed under the term it was
 * proven in, so a node that starts before its cluster has a leader becomes ready as soon as
 * the first proof of the new term lands, not an interval later.
 */
import { describe, expect } from "bun:test"
import { Effect, TestClock } from "effect"
import type { GroupHandle } from "../../../actors/group.ts"
import { startReadiness } from "../../../actors/readiness.ts"
import { RequestGate } from "../../../actors/request-gate.ts"
import { itEffect } from "../../support/effect-test.ts"

/** A group handle with only what readiness reads: the replica view's status. */
const fakeGroup = () => {
  const status = {
    term: 0,
    leader: null as string | null,
    commit: 1,
    confIndex: 1,
    conf: { voters: ["n1", "n2", "n3"], learners: [], votersOutgoing: [] },
  }
  const handle = { view: { status } } as unknown as GroupHandle
  return { status, handle }
}

const deps = (handle: GroupHandle, barrier: Effect.Effect<unknown, unknown>) => ({
  nodeId: "n1",
  clusterName: "lattice",
  groupIds: () => [1],
  group: () => handle,
  barrier,
  gate: new RequestGate("n1"),
  adaptersUp: () => true,
  probeIntervalMs: 1000,
  probeTimeoutMs: 500,
  cacheMaxAgeMs: 5000,
})

describe("readiness", () => {
  itEffect("a proof that completes in a new term makes the node ready without waiting an interval", () =>
    Effect.gen(function* () {
      const g = fakeGroup()
      // The barrier waits for a leader: the election (term 0 → 1) happens while it runs.
      const barrier = Effect.sync(() => {
        if (g.status.term === 0) {
          g.status.term = 1
          g.status.leader = "n2"
        }
      })
      const r = yield* startReadiness(deps(g.handle, barrier))
      yield* TestClock.adjust("10 millis")
      const e = yield* r.evaluate
      expect(e.failures).toEqual({})
      expect(e.report.ready).toBe(true)
    }),
  )

  itEffect("a proof of an older term does not count as fresh", () =>
    Effect.gen(function* () {
      const g = fakeGroup()
      g.status.term = 1
      g.status.leader = "n2"
      const r = yield* startReadiness(deps(g.handle, Effect.void))
      yield* TestClock.adjust("10 millis")
      expect((yield* r.evaluate).report.ready).toBe(true)
      // A new election after the proof: the cache is stale until the next probe proves term 2.
      g.status.term = 2
      const stale = yield* r.evaluate
      expect(stale.report.conditions.cp_cache_fresh).toBe(false)
      expect(stale.failures.cp_cache_fresh).toContain("term 1")
      yield* TestClock.adjust("1 second")
      expect((yield* r.evaluate).report.ready).toBe(true)
    }),
  )

  itEffect("a failing probe fails can_serve_reads with its reason", () =>
    Effect.gen(function* () {
      const g = fakeGroup()
      g.status.term = 1
      g.status.leader = "n2"
      const r = yield* startReadiness(deps(g.handle, Effect.fail({ _tag: "NotLeader", reason: "no quorum" })))
      yield* TestClock.adjust("10 millis")
      const e = yield* r.evaluate
      expect(e.report.ready).toBe(false)
      expect(e.failures.can_serve_reads).toBe("ReadIndex failed (NotLeader: no quorum)")
      expect(e.failures.cp_cache_fresh).toBeDefined()
    }),
  )

  itEffect("after a failed probe the next one comes within 200 ms, not a whole interval", () =>
    Effect.gen(function* () {
      const g = fakeGroup()
      g.status.term = 1
      g.status.leader = "n2"
      let quorum = false
      const barrier = Effect.suspend(() => (quorum ? Effect.void : Effect.fail("no quorum")))
      const r = yield* startReadiness(deps(g.handle, barrier))
      yield* TestClock.adjust("10 millis")
      expect((yield* r.evaluate).report.ready).toBe(false)
      quorum = true
      yield* TestClock.adjust("200 millis")
      expect((yield* r.evaluate).report.ready).toBe(true)
    }),
  )
})
