import { describe, expect, test } from "bun:test"
import { Deferred, Effect, Either, Fiber } from "effect"
import { boundedBy, Deadlines } from "../../../src/node/deadlines.ts"

describe("Deadlines", () => {
  test("fires only the deadlines that have passed, once; a cancelled one never", () => {
    const d = new Deadlines()
    const fired: string[] = []
    d.add(100, () => fired.push("a"))
    const cancelB = d.add(150, () => fired.push("b"))
    d.add(300, () => fired.push("c"))
    d.expire(99)
    expect(fired).toEqual([])
    d.expire(100)
    expect(fired).toEqual(["a"])
    cancelB()
    d.expire(200)
    expect(fired).toEqual(["a"])
    d.expire(1000)
    d.expire(2000)
    expect(fired).toEqual(["a", "c"])
    expect(d.size).toBe(0)
  })

  test("addAfter counts from the clock at creation, then from the last check", () => {
    const d = new Deadlines(1000)
    const fired: string[] = []
    d.addAfter(50, () => fired.push("a"))
    d.expire(1049)
    expect(fired).toEqual([])
    d.addAfter(50, () => fired.push("b"))
    d.expire(1050)
    expect(fired).toEqual(["a"])
    d.expire(1098)
    expect(fired).toEqual(["a"])
    d.expire(1099)
    expect(fired).toEqual(["a", "b"])
  })

  test("boundedBy: the effect's own outcome when it ends first, and the deadline is dropped", async () => {
    const d = new Deadlines()
    const ok = await Effect.runPromise(boundedBy(d, 100, Effect.succeed(7), () => "late" as const))
    expect(ok).toBe(7)
    const failed = await Effect.runPromise(
      Effect.either(boundedBy(d, 100, Effect.fail("nope" as const), () => "late" as const)),
    )
    expect(failed).toEqual(Either.left("nope"))
    expect(d.size).toBe(0)
  })

  test("boundedBy: a deadline that passes interrupts the effect and fails with onTimeout", async () => {
    const d = new Deadlines()
    let interrupted = false
    const result = await Effect.runPromise(
      Effect.gen(function* () {
        const never = yield* Deferred.make<number>()
        const waiting = Deferred.await(never).pipe(
          Effect.onInterrupt(() => Effect.sync(() => (interrupted = true))),
        )
        const fiber = yield* Effect.fork(Effect.either(boundedBy(d, 100, waiting, () => "late" as const)))
        yield* Effect.yieldNow()
        expect(d.size).toBe(1)
        d.expire(50)
        yield* Effect.yieldNow()
        d.expire(100)
        return yield* Fiber.join(fiber)
      }),
    )
    expect(result).toEqual(Either.left("late"))
    expect(interrupted).toBe(true)
    expect(d.size).toBe(0)
  })

  test("boundedBy: interrupting the caller interrupts the effect and drops the deadline", async () => {
    const d = new Deadlines()
    let interrupted = false
    await Effect.runPromise(
      Effect.gen(function* () {
        const never = yield* Deferred.make<number>()
        const waiting = Deferred.await(never).pipe(
          Effect.onInterrupt(() => Effect.sync(() => (interrupted = true))),
        )
        const fiber = yield* Effect.fork(boundedBy(d, 100, waiting, () => "late" as const))
        yield* Effect.yieldNow()
        yield* Fiber.interrupt(fiber)
      }),
    )
    expect(interrupted).toBe(true)
    expect(d.size).toBe(0)
  })
})
