import { describe, expect } from "bun:test"
import { Clock, Context, Duration, Effect, Fiber, Layer, TestClock } from "effect"
import { itEffect } from "../support/effect-test.ts"

class Greeting extends Context.Tag("test/Greeting")<
  Greeting,
  { readonly hello: (name: string) => string }
>() {}

describe("itEffect helper", () => {
  itEffect("TestClock drives a sleeping fiber without real waiting", () =>
    Effect.gen(function* () {
      const fiber = yield* Effect.fork(Effect.sleep(Duration.minutes(5)).pipe(Effect.as("woke")))
      yield* TestClock.adjust(Duration.minutes(4))
      expect(fiber.unsafePoll()).toBeNull()
      yield* TestClock.adjust(Duration.minutes(1))
      expect(yield* Fiber.join(fiber)).toBe("woke")
      expect(yield* Clock.currentTimeMillis).toBe(5 * 60_000)
    }),
  )

  itEffect.layer(Layer.succeed(Greeting, { hello: (name) => `hello ${name}` }))("provides layers", () =>
    Effect.gen(function* () {
      const greeting = yield* Greeting
      expect(greeting.hello("lattice")).toBe("hello lattice")
    }),
  )

  itEffect("closes the scope after the test, running finalizers", () =>
    Effect.gen(function* () {
      const released: string[] = []
      yield* Effect.scoped(
        Effect.acquireRelease(Effect.succeed(1), () => Effect.sync(() => released.push("r"))),
      )
      expect(released).toEqual(["r"])
    }),
  )
})
