/**
 * A group's one timer. Every `tickMs` it steps the replica's logical clock (a `tick` input), asks
 * the apply loop to commit what it applied since the last tick, and on the same wake-up, every
 * so many ticks, it looks at the lease keeper's clock and runs the learner promoter's check.
 * These were separate timers, each waking the process on its own; on a VM where a wake-up costs
 * more than the work it does, one timer is cheaper (docs/benchmarks.md, "Fifth pass").
 *
 * The promoter's check may wait for a membership change to commit, so it runs in a fiber of its
 * own, at most one at a time, and only while a learner waits to be promoted: the ticks never
 * wait for it.
 */
import { Duration, Effect } from "effect"
import type { Offerable } from "./inbox.ts"
import type { ReplicaInput } from "./mailbox.ts"

export interface GroupTickerDeps {
  readonly tickMs: number
  readonly mailbox: Offerable<ReplicaInput>
  /** The lease keeper's look at the clock (lease-keeper.ts `tick`). */
  readonly leaseTick: Effect.Effect<void>
  readonly leaseEveryTicks: number
  readonly promoterCheck: Effect.Effect<void>
  readonly promoteEveryTicks: number
  /** Whether any learner waits to be promoted (the check then runs in a fiber of its own). */
  readonly promotionsPending: () => boolean
  /** Run on every tick: asks the apply loop to commit its open window, if one is open. */
  readonly commitApplies?: () => void
}

export const runGroupTicker = (deps: GroupTickerDeps): Effect.Effect<never> =>
  Effect.scoped(
    Effect.gen(function* () {
      let ticks = 0
      let promoting = false
      const promote = Effect.suspend(() => {
        if (promoting) return Effect.void
        // Nothing to promote: the check returns at once (resetting its streaks), no fiber needed.
        if (!deps.promotionsPending()) return deps.promoterCheck
        promoting = true
        return Effect.asVoid(
          Effect.forkScoped(deps.promoterCheck.pipe(Effect.ensuring(Effect.sync(() => (promoting = false))))),
        )
      })
      const once = Effect.gen(function* () {
        ticks++
        deps.commitApplies?.()
        yield* deps.mailbox.offer({ _tag: "tick" })
        if (ticks % deps.leaseEveryTicks === 0) yield* deps.leaseTick
        if (ticks % deps.promoteEveryTicks === 0) yield* promote
      })
      const period = Duration.millis(deps.tickMs)
      return yield* Effect.forever(Effect.zipRight(once, Effect.sleep(period)))
    }),
  )
