import { describe, expect, test } from "bun:test"
import { Deferred, Effect, Exit } from "effect"
import type { RequestFailure } from "../../../actors/errors.ts"
import { AppliedWatch, ProposalWaiters } from "../../../actors/waiters.ts"
import type { ApplyResult } from "../../../src/kv/state-machine.ts"

const result: ApplyResult = {
  outcome: { ok: true, response: { type: "tick", response: { header: { revision: 1 } } } },
  events: [],
  revision: 1,
}

const pending = () => Effect.runSync(Deferred.make<ApplyResult | null, RequestFailure>())
const poll = (d: Deferred.Deferred<ApplyResult | null, RequestFailure>) => Effect.runSync(Deferred.poll(d))
const outcome = async (d: Deferred.Deferred<ApplyResult | null, RequestFailure>) =>
  Effect.runPromiseExit(Deferred.await(d))

describe("ProposalWaiters", () => {
  test("resolves a proposal when its index is applied with the term it was appended with", async () => {
    const w = new ProposalWaiters()
    const d = pending()
    w.appended(5, 2, d)
    w.applied(4, 2, null)
    expect(poll(d)._tag).toBe("None")
    w.applied(5, 2, result)
    expect(await outcome(d)).toEqual(Exit.succeed(result))
    expect(w.size).toBe(0)
  })

  test("fails with LeaderChanged when another leader's entry is applied at that index", async () => {
    const w = new ProposalWaiters()
    const d = pending()
    w.appended(5, 2, d)
    w.applied(5, 3, result)
    const exit = await outcome(d)
    expect(Exit.isFailure(exit) && JSON.stringify(exit.cause)).toContain("LeaderChanged")
  })

  test("a second append at the same index fails the first; a snapshot install fails what it covers", async () => {
    const w = new ProposalWaiters()
    const [a, b, c] = [pending(), pending(), pending()]
    w.appended(7, 2, a)
    w.appended(7, 3, b)
    w.appended(9, 3, c)
    expect(JSON.stringify(await outcome(a))).toContain("LeaderChanged")
    w.supersededThrough(8)
    expect(JSON.stringify(await outcome(b))).toContain("LeaderChanged")
    expect(poll(c)._tag).toBe("None")
    w.failAll("shutdown")
    expect(JSON.stringify(await outcome(c))).toContain("ReplicaStopped")
  })
})

describe("AppliedWatch", () => {
  test("wakes readers once the applied index reaches theirs, in any order", async () => {
    const watch = new AppliedWatch(3)
    const woke: number[] = []
    const wait = (i: number) => Effect.runPromise(watch.await(i)).then(() => woke.push(i))
    const all = Promise.all([wait(10), wait(2), wait(6)])
    await Bun.sleep(0)
    expect(woke).toEqual([2])
    watch.advance(6)
    await Bun.sleep(0)
    expect(woke.sort((x, y) => x - y)).toEqual([2, 6])
    watch.advance(5) // never goes back
    expect(watch.applied).toBe(6)
    watch.advance(12)
    await all
    expect(woke.sort((x, y) => x - y)).toEqual([2, 6, 10])
  })
})
