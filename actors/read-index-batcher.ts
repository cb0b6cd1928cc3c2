/**
 * ReadIndexBatcher: one `readIndex` input per batch of linearizable reads. Each batch waits for
 * its proven read index, then for the apply loop to reach it; every read of the batch may then
 * be served from the local state machine. A batch that cannot be proven in time fails closed
 * (LIN-BOUND): its readers get ReadUnavailable, never a possibly stale value.
 */
import { Deferred, Duration, Effect, FiberSet, Queue, type Scope } from "effect"
import { repeatForever } from "../src/repeat-forever.ts"
import { ReadUnavailable, type RequestFailure } from "./errors.ts"
import type { Offerable } from "./inbox.ts"
import type { ReplicaInput } from "./mailbox.ts"
import type { AppliedWatch } from "./waiters.ts"

export interface ReadIndexBatcher {
  /** Completes when a linearizable read may be served locally. */
  readonly barrier: Effect.Effect<void, RequestFailure>
  readonly run: Effect.Effect<never, never, Scope.Scope>
}

export const makeReadIndexBatcher = (options: {
  readonly mailbox: Offerable<ReplicaInput>
  readonly applied: AppliedWatch
  readonly timeoutMs: number
  readonly capacity: number
  readonly maxBatch?: number
}): Effect.Effect<ReadIndexBatcher> =>
  Effect.gen(function* () {
    const queue = yield* Queue.bounded<Deferred.Deferred<void, RequestFailure>>(options.capacity)
    const timeout = Duration.millis(options.timeoutMs)
    const barrier = Effect.gen(function* () {
      const done = yield* Deferred.make<void, RequestFailure>()
      yield* Queue.offer(queue, done)
      return yield* Deferred.await(done)
    })
    const serveBatch = (batch: readonly Deferred.Deferred<void, RequestFailure>[]) =>
      Effect.gen(function* () {
        const index = yield* Deferred.make<number, RequestFailure>()
        yield* options.mailbox.offer({ _tag: "readIndex", done: (o) => Deferred.unsafeDone(index, o) })
        const proven = yield* Deferred.await(index)
        yield* options.applied.await(proven)
      }).pipe(
        Effect.timeoutFail({
          duration: timeout,
          onTimeout: () => new ReadUnavailable({ reason: "timeout" }),
        }),
        Effect.exit,
        Effect.flatMap((exit) => Effect.forEach(batch, (d) => Deferred.done(d, exit), { discard: true })),
      )
    const run = Effect.gen(function* () {
      const inFlight = yield* FiberSet.make<void, never>()
      return yield* repeatForever(
        Effect.gen(function* () {
          const batch = yield* Queue.takeBetween(queue, 1, options.maxBatch ?? 4096)
          yield* FiberSet.run(inFlight, serveBatch(Array.from(batch)))
        }),
      )
    })
    return { barrier, run }
  })
