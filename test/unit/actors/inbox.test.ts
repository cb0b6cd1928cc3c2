import { describe, expect, test } from "bun:test"
import { Effect, Fiber } from "effect"
import { Inbox } from "../../../actors/inbox.ts"

/** Lets every queued microtask (and the ones they queue) run. */
const settle = () => new Promise<void>((resolve) => setTimeout(resolve, 0))

describe("Inbox", () => {
  test("calls its consumer once per turn, after the offers of that turn", async () => {
    const inbox = new Inbox<number>(16)
    const batches: number[][] = []
    inbox.setConsumer(() => batches.push(inbox.take(100)))
    expect(inbox.unsafeOffer(1)).toBe(true)
    expect(inbox.unsafeOffer(2)).toBe(true)
    expect(batches).toEqual([])
    await settle()
    expect(batches).toEqual([[1, 2]])
    inbox.unsafeOffer(3)
    await settle()
    expect(batches).toEqual([[1, 2], [3]])
  })

  test("calls the consumer again while it takes and values remain", async () => {
    const inbox = new Inbox<number>(16)
    const batches: number[][] = []
    inbox.setConsumer(() => batches.push(inbox.take(2)))
    for (const v of [1, 2, 3, 4, 5]) inbox.unsafeOffer(v)
    await settle()
    expect(batches).toEqual([[1, 2], [3, 4], [5]])
  })

  test("a consumer that takes nothing is not called again until kicked", async () => {
    const inbox = new Inbox<number>(16)
    let paused = true
    let calls = 0
    const taken: number[] = []
    inbox.setConsumer(() => {
      calls++
      if (!paused) taken.push(...inbox.take(100))
    })
    inbox.unsafeOffer(1)
    await settle()
    expect(calls).toBe(1)
    await settle()
    expect(calls).toBe(1)
    paused = false
    inbox.kick()
    await settle()
    expect(taken).toEqual([1])
  })

  test("is bounded: unsafeOffer refuses when full, offer waits for room", async () => {
    const inbox = new Inbox<number>(2)
    expect(inbox.unsafeOffer(1)).toBe(true)
    expect(inbox.unsafeOffer(2)).toBe(true)
    expect(inbox.unsafeOffer(3)).toBe(false)
    const waiting = Effect.runFork(inbox.offer(4))
    await settle()
    expect(waiting.unsafePoll()).toBeNull()
    expect(inbox.take(1)).toEqual([1])
    expect(await Effect.runPromise(Fiber.join(waiting))).toBe(true)
    expect(inbox.take(10)).toEqual([2, 4])
  })

  test("an interrupted offer gives up its place", async () => {
    const inbox = new Inbox<number>(1)
    inbox.unsafeOffer(1)
    const waiting = Effect.runFork(inbox.offer(2))
    await settle()
    await Effect.runPromise(Fiber.interrupt(waiting))
    expect(inbox.take(10)).toEqual([1])
    inbox.unsafeOffer(3)
    expect(inbox.take(10)).toEqual([3])
  })

  test("a detached consumer is not called", async () => {
    const inbox = new Inbox<number>(4)
    let calls = 0
    inbox.setConsumer(() => {
      calls++
      inbox.take(10)
    })
    inbox.unsafeOffer(1)
    inbox.setConsumer(null)
    await settle()
    expect(calls).toBe(0)
    expect(inbox.size).toBe(1)
  })
})
