/**
 * Request deadlines checked by one fiber per node, once per tick, instead of a timer per
 * request: `Effect.timeoutFail` races the request against a forked sleep, which costs tens of
 * µs of CPU per request — a large part of a put's cost on the leader. A deadline here fires at
 * most one check interval late (`tick_ms`), which a request timeout of seconds does not notice.
 */
import { Effect, Exit, Fiber, FiberId } from "effect"

interface Entry {
  readonly at: number
  readonly expire: () => void
}

export class Deadlines {
  private readonly entries = new Set<Entry>()
  /** `now`: the clock (ms) at creation; then as of the last check, the base of `addAfter`. */
  constructor(private now = 0) {}

  /** Calls `expire` once the clock (ms, the Effect Clock's) passes `at`, unless cancelled first. */
  add(at: number, expire: () => void): () => void {
    const entry = { at, expire }
    this.entries.add(entry)
    return () => {
      this.entries.delete(entry)
    }
  }

  /**
   * `add` at `ms` after the last check's clock, for a caller that cannot read the Effect Clock.
   * Up to one check interval early; a timeout of seconds does not notice.
   */
  addAfter(ms: number, expire: () => void): () => void {
    return this.add(this.now + ms, expire)
  }

  /** Fires every deadline at or before `now`. */
  expire(now: number): void {
    this.now = now
    for (const e of this.entries) {
      if (e.at > now) continue
      this.entries.delete(e)
      e.expire()
    }
  }

  get size(): number {
    return this.entries.size
  }
}

/**
 * Runs `effect` (in a child fiber) until the clock passes `at`; then interrupts it and fails with
 * `onTimeout()`. What `Effect.timeoutFail` does, at the cost of one fork instead of a race.
 */
export const boundedBy = <A, E, T>(
  deadlines: Deadlines,
  at: number,
  effect: Effect.Effect<A, E>,
  onTimeout: () => T,
): Effect.Effect<A, E | T> =>
  Effect.gen(function* () {
    const fiber = yield* Effect.fork(effect)
    let timedOut = false
    const cancel = deadlines.add(at, () => {
      timedOut = true
      fiber.unsafeInterruptAsFork(FiberId.none)
    })
    const exit = yield* Fiber.await(fiber).pipe(Effect.ensuring(Effect.sync(cancel)))
    if (timedOut && Exit.isInterrupted(exit)) return yield* Effect.fail(onTimeout())
    return yield* exit
  })
