/**
 * ProposalBatcher: collects client commands for one group and steps them into the replica as
 * one `proposeBatch` (one append message per follower for the whole batch). A batch closes at
 * `batchSize` commands, or `batchTimeoutMs` after its first command (0: whatever is queued now).
 * The wait pays only when company is coming: a batch is sent at once when no other proposal of
 * this node is in flight (none batched earlier still waits for its entry to be applied), as
 * Nagle's algorithm sends at once when nothing is outstanding. A lone write at low load does not
 * wait; under load there is always something in flight and batches fill as before.
 */
import { Deferred, Duration, Effect, Queue } from "effect"
import type { ApplyResult } from "../src/kv/state-machine.ts"
import { repeatForever } from "../src/repeat-forever.ts"
import { Overloaded, type RequestFailure } from "./errors.ts"
import type { Offerable } from "./inbox.ts"
import type { PendingProposal, ReplicaInput } from "./mailbox.ts"
import { ProposalCallback, type ProposalOutcome } from "./waiters.ts"

export interface ProposalBatcher {
  /** Proposes `data`; completes with the apply result once its entry is applied (null: not a KV entry). */
  readonly propose: (data: Uint8Array) => Effect.Effect<ApplyResult | null, RequestFailure>
  /**
   * The same for a caller that is not a fiber: queues `data` at once and hands the outcome to
   * `onOutcome` (null once the caller abandons the returned callback). Null when the queue is
   * full: `propose` waits for room instead.
   */
  readonly proposeNow: (
    data: Uint8Array,
    onOutcome: (outcome: ProposalOutcome) => void,
  ) => ProposalCallback | null
  readonly run: Effect.Effect<never>
}

export const makeProposalBatcher = (options: {
  readonly mailbox: Offerable<ReplicaInput>
  readonly batchSize: number
  readonly batchTimeoutMs: number
  readonly capacity: number
}): Effect.Effect<ProposalBatcher> =>
  Effect.gen(function* () {
    const queue = yield* Queue.bounded<PendingProposal>(options.capacity)
    /** Proposals from their arrival until they are answered (queued, batched or appended). */
    let inFlight = 0
    const enqueueAndWait = (data: Uint8Array) =>
      Effect.gen(function* () {
        const done = yield* Deferred.make<ApplyResult | null, RequestFailure>()
        // Room in the queue (the usual case): no timer. Full: wait up to a second for room.
        if (!queue.unsafeOffer({ data, done })) {
          const accepted = yield* Queue.offer(queue, { data, done }).pipe(Effect.timeout(Duration.seconds(1)))
          if (!accepted) return yield* new Overloaded()
        }
        return yield* Deferred.await(done)
      }).pipe(Effect.catchTag("TimeoutException", () => Effect.fail(new Overloaded())))
    const propose = (data: Uint8Array) =>
      Effect.acquireUseRelease(
        Effect.sync(() => inFlight++),
        () => enqueueAndWait(data),
        () => Effect.sync(() => inFlight--),
      )
    const proposeNow: ProposalBatcher["proposeNow"] = (data, onOutcome) => {
      inFlight++
      const done = new ProposalCallback((outcome) => {
        inFlight--
        onOutcome(outcome)
      })
      if (queue.unsafeOffer({ data, done })) return done
      inFlight--
      return null
    }
    const run = repeatForever(
      Effect.gen(function* () {
        const first = yield* Queue.takeBetween(queue, 1, options.batchSize)
        let batch = Array.from(first)
        const companyComing = inFlight > batch.length
        if (batch.length < options.batchSize && options.batchTimeoutMs > 0 && companyComing) {
          yield* Effect.sleep(Duration.millis(options.batchTimeoutMs))
          batch = batch.concat(Array.from(yield* Queue.takeUpTo(queue, options.batchSize - batch.length)))
        }
        yield* options.mailbox.offer({ _tag: "propose", proposals: batch })
      }),
    )
    return { propose, proposeNow, run }
  })
