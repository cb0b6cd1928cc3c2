/** Helpers for tests against a real nats-server: real clock, real sockets. */
import { test } from "bun:test"
import { Cause, Effect, Exit, Queue, type Scope } from "effect"
import type { Message } from "../../../src/raft/messages.ts"

/** A test whose Effect runs on the live runtime (real clock), in a scope closed at the end. */
export const itLive = <A, E>(
  name: string,
  body: () => Effect.Effect<A, E, Scope.Scope>,
  timeoutMs = 20_000,
) =>
  test(
    name,
    async () => {
      const exit = await Effect.runPromiseExit(Effect.scoped(body()))
      if (Exit.isFailure(exit)) throw new Error(Cause.pretty(exit.cause))
    },
    timeoutMs,
  )

/** Polls `check` every 20 ms until it holds; dies after `timeoutMs`. Not a timing assertion. */
export const eventually = <E>(check: Effect.Effect<boolean, E>, what: string, timeoutMs = 10_000) =>
  Effect.gen(function* () {
    const attempts = Math.ceil(timeoutMs / 20)
    for (let i = 0; i < attempts; i++) {
      if (yield* check) return
      yield* Effect.sleep("20 millis")
    }
    return yield* Effect.dieMessage(`timed out waiting for ${what}`)
  })

/** Takes exactly n messages, or dies after `timeoutMs`. */
export const receive = (queue: Queue.Dequeue<Message>, n: number, timeoutMs = 10_000) =>
  Queue.takeBetween(queue, n, n).pipe(
    Effect.map((chunk) => Array.from(chunk)),
    Effect.timeoutFail({ duration: timeoutMs, onTimeout: () => new Error(`did not receive ${n} messages`) }),
    Effect.orDie,
  )
