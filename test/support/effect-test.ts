/**
 * Runs Effects inside `bun:test` under `TestContext` (so `TestClock` drives time), in a fresh
 * Scope that is closed when the test ends, with optional extra layers.
 *
 *   itEffect("times out", () => Effect.gen(function* () { ... yield* TestClock.adjust("1 second") ... }))
 *   itEffect.layer(MyLayer)("uses the service", () => Effect.gen(function* () { ... }))
 */
import { test } from "bun:test"
import { Cause, Effect, Exit, Layer, type Scope, TestContext } from "effect"

type TestBody<A, E, R> = () => Effect.Effect<A, E, R>

export const runTest = async <A, E>(effect: Effect.Effect<A, E, Scope.Scope>): Promise<A> => {
  const exit = await Effect.runPromiseExit(
    Effect.scoped(effect).pipe(Effect.provide(TestContext.TestContext)),
  )
  if (Exit.isSuccess(exit)) return exit.value
  throw new Error(Cause.pretty(exit.cause))
}

const make =
  <ROut, E2>(layer: Layer.Layer<ROut, E2, never>) =>
  <A, E>(name: string, body: TestBody<A, E, ROut | Scope.Scope>, timeoutMs?: number) =>
    test(name, () => runTest(Effect.provide(body(), layer)), timeoutMs)

export const itEffect = Object.assign(make(Layer.empty), {
  layer: <ROut, E2>(layer: Layer.Layer<ROut, E2, never>) => make(layer),
})
