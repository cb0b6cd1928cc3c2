/**
 * LeaseKeeper: one per group on every replica; it acts only while its replica leads.
 *  - Time: it proposes `tick` entries carrying the committed clock (ms). The clock continues from
 *    the last committed value the leader has applied, advanced by the leader's own monotonic
 *    clock (src/kv/lease/leader-clock.ts, which the simulator runs under faults too), so a new
 *    leader neither resets remaining TTLs nor jumps them forward; followers never
 *    expire anything on their own. Applying a tick expires the leases now due (bounded per tick).
 *    Ticks go straight to the replica's mailbox, ahead of the proposal batcher's queue, so
 *    expiry is not starved by write load. With no lease in the table it ticks only every
 *    `idleTickMs` (idempotency records still age).
 *  - Renewals: keep-alives from every node reach the leader's group handle (local or forwarded,
 *    like writes) and queue here; each round proposes ONE `leaseRenew` entry with every id queued
 *    while the previous round was in flight (group commit for renewals).
 */
import { Clock, Deferred, Effect, Queue } from "effect"
import type { KvOutcome } from "../schemas/kv.ts"
import type { GroupId } from "../schemas/raft.ts"
import { decodeCommand, encodeCommand } from "../src/kv/codec.ts"
import { followCommitted, type LeaderClock, nextTick } from "../src/kv/lease/leader-clock.ts"
import type { ApplyResult, KvStateMachine } from "../src/kv/state-machine.ts"
import { repeatForever } from "../src/repeat-forever.ts"
import type { RequestFailure } from "./errors.ts"
import type { Offerable } from "./inbox.ts"
import type { ReplicaInput } from "./mailbox.ts"
import type { ReplicaView } from "./replica-view.ts"

export interface LeaseKeeperDeps {
  readonly group: GroupId
  readonly sm: KvStateMachine
  readonly view: ReplicaView
  readonly mailbox: Offerable<ReplicaInput>
  /** Interval between tick proposals while leases exist (the expiry resolution). */
  readonly tickMs: number
  /** Interval between tick proposals while the lease table is empty. */
  readonly idleTickMs: number
}

interface PendingRenewal {
  readonly ids: readonly bigint[]
  readonly done: Deferred.Deferred<ApplyResult | null, RequestFailure>
}

export interface LeaseKeeper {
  /** Proposes an encoded `leaseRenew` command, batched with the others queued meanwhile. */
  readonly renew: (data: Uint8Array) => Effect.Effect<ApplyResult | null, RequestFailure>
  /** The renewal rounds, one after another. */
  readonly run: Effect.Effect<never>
  /**
   * One look at the clock: proposes a `tick` entry when this replica leads and `tickMs` (or
   * `idleTickMs`) has passed since the last one. The group's ticker calls it every `tickMs / 2`
   * or so, on its own timer's wake-ups (group.ts), so the keeper needs no timer of its own.
   */
  readonly tick: Effect.Effect<void>
}

/** One waiter's part of a batched renewal's result (errors and non-KV results are shared as is). */
const slice = (
  applied: ApplyResult | null,
  outcome: KvOutcome | undefined,
  offset: number,
  count: number,
): ApplyResult | null => {
  if (applied === null || outcome === undefined || !outcome.ok || outcome.response.type !== "leaseRenew")
    return applied
  const response = outcome.response.response
  return {
    revision: applied.revision,
    events: [],
    outcome: {
      ok: true,
      response: {
        type: "leaseRenew",
        response: { header: response.header, ttlsMs: response.ttlsMs.slice(offset, offset + count) },
      },
    },
  }
}

/** Monotonic milliseconds from the Effect clock (TestClock drives it in tests). */
const monotonicMs = Effect.map(Clock.currentTimeNanos, (ns) => Number(ns / 1_000_000n))

export const makeLeaseKeeper = (deps: LeaseKeeperDeps): Effect.Effect<LeaseKeeper> =>
  Effect.gen(function* () {
    const renewals = yield* Queue.unbounded<PendingRenewal>()

    const propose = (data: Uint8Array) =>
      Effect.gen(function* () {
        const done = yield* Deferred.make<ApplyResult | null, RequestFailure>()
        yield* deps.mailbox.offer({ _tag: "propose", proposals: [{ data, done }] })
        return done
      })

    const renew = (data: Uint8Array) =>
      Effect.gen(function* () {
        const command = decodeCommand(data)
        if (command.type !== "leaseRenew") return yield* Effect.dieMessage("lease keeper: not a renewal")
        const done = yield* Deferred.make<ApplyResult | null, RequestFailure>()
        yield* Queue.offer(renewals, { ids: command.request.ids, done })
        return yield* Deferred.await(done)
      })

    /** One renewal round: every queued renewal in one entry; each waiter gets its own slice. */
    const renewRound = Effect.gen(function* () {
      const batch = Array.from(yield* Queue.takeBetween(renewals, 1, 4096))
      const ids = batch.flatMap((p) => p.ids)
      const done = yield* propose(encodeCommand({ type: "leaseRenew", request: { ids } }))
      const result = yield* Effect.either(Deferred.await(done))
      if (result._tag === "Left") {
        for (const p of batch) yield* Deferred.fail(p.done, result.left)
        return
      }
      const applied = result.right
      const outcome = applied?.outcome
      let offset = 0
      for (const p of batch) {
        const mine = slice(applied, outcome, offset, p.ids.length)
        offset += p.ids.length
        yield* Deferred.succeed(p.done, mine)
      }
    })

    // The clock while leading (src/kv/lease/leader-clock.ts); null while following.
    let leading: LeaderClock | null = null
    let lastTickAt = Number.NEGATIVE_INFINITY
    let inFlight: Deferred.Deferred<ApplyResult | null, RequestFailure> | null = null

    const tickRound = Effect.gen(function* () {
      const st = deps.view.status
      if (st.role !== "leader") {
        leading = null
        return
      }
      const now = yield* monotonicMs
      const committed = { ms: deps.sm.committedMs, tick: deps.sm.tick }
      leading = followCommitted(leading, st.term, committed, now)
      if (inFlight !== null && !(yield* Deferred.isDone(inFlight))) return
      const interval = deps.sm.leaseCount() > 0 ? deps.tickMs : deps.idleTickMs
      if (now - lastTickAt < interval) return
      lastTickAt = now
      const [clock, tick] = nextTick(leading, committed, now)
      leading = clock
      inFlight = yield* propose(encodeCommand({ type: "tick", ...tick }))
    })

    return { renew, run: repeatForever(renewRound), tick: tickRound }
  })
