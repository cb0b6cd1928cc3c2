import { describe, expect } from "bun:test"
import { Effect, Either, Fiber, Option, Queue, TestClock } from "effect"
import type { ReplicaInput } from "../../../actors/mailbox.ts"
import { makeProposalBatcher } from "../../../actors/proposal-batcher.ts"
import { makeReadIndexBatcher } from "../../../actors/read-index-batcher.ts"
import { AppliedWatch, succeedProposal } from "../../../actors/waiters.ts"
import { itEffect } from "../../support/effect-test.ts"

const sizes = (inputs: Iterable<ReplicaInput>) =>
  Array.from(inputs).map((i) => (i._tag === "propose" ? i.proposals.length : -1))

describe("ProposalBatcher", () => {
  itEffect("closes batches at batch_size and steps each as one propose input", () =>
    Effect.gen(function* () {
      const mailbox = yield* Queue.unbounded<ReplicaInput>()
      const batcher = yield* makeProposalBatcher({ mailbox, batchSize: 4, batchTimeoutMs: 0, capacity: 100 })
      const proposals = yield* Effect.forkAll(
        Array.from({ length: 10 }, (_, i) => batcher.propose(new Uint8Array([i]))),
      )
      yield* Effect.yieldNow()
      yield* Effect.forkScoped(batcher.run)
      let got: number[] = []
      while (got.reduce((a, b) => a + b, 0) < 10)
        got = got.concat(sizes(yield* Queue.takeBetween(mailbox, 1, 10)))
      expect(got).toEqual([4, 4, 2])
      yield* Fiber.interrupt(proposals)
    }),
  )

  itEffect("while other proposals are in flight, waits batch_timeout_ms for a batch to fill", () =>
    Effect.gen(function* () {
      const mailbox = yield* Queue.unbounded<ReplicaInput>()
      const batcher = yield* makeProposalBatcher({ mailbox, batchSize: 8, batchTimeoutMs: 5, capacity: 100 })
      yield* Effect.forkScoped(batcher.run)
      // Nothing in flight: the first proposal leaves at once, and stays unanswered.
      yield* Effect.fork(batcher.propose(new Uint8Array([0])))
      yield* Effect.yieldNow()
      expect(sizes([yield* Queue.take(mailbox)])).toEqual([1])
      yield* Effect.fork(batcher.propose(new Uint8Array([1])))
      yield* TestClock.adjust("1 millis")
      yield* Effect.fork(batcher.propose(new Uint8Array([2])))
      yield* Effect.yieldNow()
      expect(yield* Queue.size(mailbox)).toBe(0)
      yield* TestClock.adjust("5 millis")
      const batch = yield* Queue.take(mailbox)
      expect(sizes([batch])).toEqual([2])
    }),
  )
  itEffect("with nothing in flight a proposal goes at once, without waiting for company", () =>
    Effect.gen(function* () {
      const mailbox = yield* Queue.unbounded<ReplicaInput>()
      const batcher = yield* makeProposalBatcher({ mailbox, batchSize: 8, batchTimeoutMs: 5, capacity: 100 })
      yield* Effect.forkScoped(batcher.run)
      const first = yield* Effect.fork(batcher.propose(new Uint8Array([1])))
      yield* Effect.yieldNow()
      const input = yield* Queue.take(mailbox)
      expect(sizes([input])).toEqual([1])
      // Its entry is applied: nothing is in flight any more.
      if (input._tag === "propose") succeedProposal(input.proposals[0]!.done, null)
      yield* Fiber.join(first)
      yield* Effect.fork(batcher.propose(new Uint8Array([2])))
      yield* Effect.yieldNow()
      expect(sizes([yield* Queue.take(mailbox)])).toEqual([1])
      // The second is unanswered: a third waits the timeout for company.
      yield* Effect.fork(batcher.propose(new Uint8Array([3])))
      yield* Effect.yieldNow()
      expect(yield* Queue.size(mailbox)).toBe(0)
      yield* TestClock.adjust("5 millis")
      expect(sizes([yield* Queue.take(mailbox)])).toEqual([1])
    }),
  )
})

describe("ReadIndexBatcher", () => {
  itEffect("one readIndex input per batch; reads complete once applied reaches the proven index", () =>
    Effect.gen(function* () {
      const mailbox = yield* Queue.unbounded<ReplicaInput>()
      const applied = new AppliedWatch(3)
      const reads = yield* makeReadIndexBatcher({ mailbox, applied, timeoutMs: 1000, capacity: 100 })
      const waiting = yield* Effect.forkAll(Array.from({ length: 5 }, () => reads.barrier))
      yield* Effect.yieldNow()
      yield* Effect.forkScoped(Effect.scoped(reads.run))
      const input = yield* Queue.take(mailbox)
      expect(yield* Queue.size(mailbox)).toBe(0)
      if (input._tag !== "readIndex") throw new Error("expected a readIndex input")
      input.done(Either.right(7))
      yield* Effect.yieldNow()
      expect(yield* Fiber.poll(waiting)).toEqual(Option.none())
      applied.advance(7)
      yield* Fiber.join(waiting)
    }),
  )

  itEffect("LIN-BOUND: a read index never proven fails closed after the timeout", () =>
    Effect.gen(function* () {
      const mailbox = yield* Queue.unbounded<ReplicaInput>()
      const reads = yield* makeReadIndexBatcher({
        mailbox,
        applied: new AppliedWatch(0),
        timeoutMs: 50,
        capacity: 10,
      })
      yield* Effect.forkScoped(Effect.scoped(reads.run))
      const read = yield* Effect.fork(Effect.either(reads.barrier))
      yield* TestClock.adjust("60 millis")
      const result = yield* Fiber.join(read)
      expect(result._tag).toBe("Left")
      expect(result._tag === "Left" && result.left._tag).toBe("ReadUnavailable")
    }),
  )
})
