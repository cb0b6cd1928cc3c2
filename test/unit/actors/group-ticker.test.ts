import { describe, expect } from "bun:test"
import { Deferred, Effect, Queue, TestClock } from "effect"
import { runGroupTicker } from "../../../actors/group-ticker.ts"
import type { ReplicaInput } from "../../../actors/mailbox.ts"
import { itEffect } from "../../support/effect-test.ts"

/** A ticker whose lease look and promoter check only count their runs (the check can be held). */
const setup = (options: { pending: boolean; holdCheck?: Deferred.Deferred<void> }) =>
  Effect.gen(function* () {
    const mailbox = yield* Queue.unbounded<ReplicaInput>()
    const counts = { lease: 0, checksStarted: 0, checksRunning: 0, mostRunning: 0, commits: 0 }
    const promoterCheck = Effect.gen(function* () {
      counts.checksStarted++
      counts.checksRunning++
      counts.mostRunning = Math.max(counts.mostRunning, counts.checksRunning)
      if (options.holdCheck !== undefined) yield* Deferred.await(options.holdCheck)
      counts.checksRunning--
    })
    yield* Effect.forkScoped(
      runGroupTicker({
        tickMs: 50,
        mailbox,
        leaseTick: Effect.sync(() => counts.lease++),
        leaseEveryTicks: 2,
        promoterCheck,
        promoteEveryTicks: 1,
        promotionsPending: () => options.pending,
        commitApplies: () => counts.commits++,
      }),
    )
    yield* Effect.yieldNow()
    return { mailbox, counts }
  })

describe("group ticker", () => {
  itEffect(
    "one timer: a tick and a commit of the applies every tick_ms, the lease clock every leaseEveryTicks ticks",
    () =>
      Effect.gen(function* () {
        const { mailbox, counts } = yield* setup({ pending: false })
        yield* TestClock.adjust("1 second")
        const ticks = Array.from(yield* Queue.takeAll(mailbox))
        // One at start, then one per 50 ms.
        expect(ticks.length).toBe(21)
        expect(ticks.every((t) => t._tag === "tick")).toBe(true)
        expect(counts.commits).toBe(21)
        expect(counts.lease).toBe(10)
        // Nothing to promote: the check runs inline (and returns at once) on each of its ticks.
        expect(counts.checksStarted).toBe(21)
      }),
  )

  itEffect("a promotion that waits for its commit never holds up the ticks, and never runs twice", () =>
    Effect.gen(function* () {
      const hold = yield* Deferred.make<void>()
      const { mailbox, counts } = yield* setup({ pending: true, holdCheck: hold })
      yield* TestClock.adjust("500 millis")
      expect(Array.from(yield* Queue.takeAll(mailbox)).length).toBe(11)
      expect(counts.checksStarted).toBe(1)
      expect(counts.mostRunning).toBe(1)
      yield* Deferred.succeed(hold, undefined)
      yield* TestClock.adjust("100 millis")
      // Released: the checks resume on the next ticks, still one at a time.
      expect(counts.checksStarted).toBeGreaterThanOrEqual(2)
      expect(counts.mostRunning).toBe(1)
    }),
  )
})
