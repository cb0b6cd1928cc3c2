/**
 * `Effect.forever` without the scheduler yield it puts between iterations, for the actors' loops
 * (each iteration waits on a queue, a latch or a timer). Here a fiber's wake-up costs tens of µs,
 * and that yield made every iteration of a hot loop two wake-ups. A fiber that runs a long time
 * without waiting is still preempted: the runtime yields it every 2048 operations.
 */
import { Effect } from "effect"

export const repeatForever = <A, E, R>(body: Effect.Effect<A, E, R>): Effect.Effect<never, E, R> => {
  const loop: Effect.Effect<never, E, R> = Effect.flatMap(body, () => loop)
  return loop
}
