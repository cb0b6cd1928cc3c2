/**
 * The observable connection state plus a gate that is open exactly while connected, so the
 * per-peer senders hold their (bounded) queues instead of handing frames to a dead link.
 */
import { Effect, SubscriptionRef } from "effect"
import type { ConnectionState } from "./transport.ts"

export interface ConnectionStateCell {
  readonly ref: SubscriptionRef.SubscriptionRef<ConnectionState>
  /** Completes when the state is `connected` (immediately if it already is). */
  readonly awaitConnected: Effect.Effect<void>
  readonly set: (state: ConnectionState) => Effect.Effect<void>
  /** The state now, for plain callbacks. */
  readonly current: () => ConnectionState
}

export const makeConnectionState = (initial: ConnectionState): Effect.Effect<ConnectionStateCell> =>
  Effect.gen(function* () {
    const ref = yield* SubscriptionRef.make<ConnectionState>(initial)
    const gate = yield* Effect.makeLatch(initial === "connected")
    let current = initial
    const set = (state: ConnectionState) =>
      Effect.zipRight(
        Effect.zipRight(
          Effect.sync(() => {
            current = state
          }),
          SubscriptionRef.set(ref, state),
        ),
        state === "connected" ? gate.open : gate.close,
      )
    return { ref, awaitConnected: gate.await, set, current: () => current }
  })
