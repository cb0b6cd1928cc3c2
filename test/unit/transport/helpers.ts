/** Small helpers for transport tests. */
import { Effect, Queue } from "effect"
import fc from "fast-check"
import type { Message } from "../../../src/raft/messages.ts"

/** Lets other fibers run until `check` holds (no clock involved, so TestClock-safe). */
export const yieldUntil = (check: Effect.Effect<boolean>, label = "condition", maxYields = 10_000) =>
  Effect.gen(function* () {
    for (let i = 0; i < maxYields; i++) {
      if (yield* check) return
      yield* Effect.yieldNow()
    }
    return yield* Effect.dieMessage(`${label} did not hold after ${maxYields} yields`)
  })

/** Lets every runnable fiber run to its next suspension point. */
export const settle = Effect.repeatN(Effect.yieldNow(), 50)

export const takeN = (queue: Queue.Dequeue<Message>, n: number) =>
  Effect.map(Queue.takeBetween(queue, n, n), (chunk) => Array.from(chunk))

export const drain = (queue: Queue.Dequeue<Message>) =>
  Effect.map(Queue.takeAll(queue), (chunk) => Array.from(chunk))

export const bytes = (text: string) => new TextEncoder().encode(text)
export const text = (data: Uint8Array) => new TextDecoder().decode(data)

/** Any Unicode string without lone surrogates (cheaper than fast-check's "binary" unit). */
export const unicodeString = (maxLength: number) =>
  fc
    .array(
      fc.integer({ min: 0, max: 0x10ffff }).filter((cp) => cp < 0xd800 || cp > 0xdfff),
      { maxLength },
    )
    .map((codePoints) => String.fromCodePoint(...codePoints))
