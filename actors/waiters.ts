/**
 * Where requests wait for the apply loop: proposals by log index (resolved when the entry at
 * that index is applied, iff it carries the term the leader appended it with), and reads by
 * applied index. Plain maps shared by a group's replica and apply loop (one JS thread).
 */
import { Deferred, Effect, Either, FiberId } from "effect"
import type { ApplyResult } from "../src/kv/state-machine.ts"
import { LeaderChanged, ReplicaStopped, type RequestFailure } from "./errors.ts"

/** A proposal's outcome, or null: the caller gave up waiting (`ProposalCallback.abandon`). */
export type ProposalOutcome = Either.Either<ApplyResult | null, RequestFailure> | null

/**
 * A proposal's outcome for a caller that is not a fiber: the write fast path (group.ts
 * `proposeNow`), which answers a request without a fiber of its own. Settled at most once.
 */
export class ProposalCallback {
  private settled = false
  constructor(private readonly onOutcome: (outcome: ProposalOutcome) => void) {}
  settle(outcome: ProposalOutcome): void {
    if (this.settled) return
    this.settled = true
    this.onOutcome(outcome)
  }
  /** The caller stopped waiting (its deadline passed): a later outcome goes nowhere. */
  abandon(): void {
    this.settle(null)
  }
}

/** Where a proposal's outcome goes: a Deferred a fiber awaits, or a plain callback. */
export type ProposalResult = Deferred.Deferred<ApplyResult | null, RequestFailure> | ProposalCallback

export const succeedProposal = (done: ProposalResult, result: ApplyResult | null): void => {
  if (done instanceof ProposalCallback) done.settle(Either.right(result))
  else Deferred.unsafeDone(done, Effect.succeed(result))
}

export const failProposal = (done: ProposalResult, failure: RequestFailure): void => {
  if (done instanceof ProposalCallback) done.settle(Either.left(failure))
  else Deferred.unsafeDone(done, Effect.fail(failure))
}

interface AppendedProposal {
  readonly term: number
  readonly done: ProposalResult
}

export class ProposalWaiters {
  private readonly byIndex = new Map<number, AppendedProposal>()

  get size(): number {
    return this.byIndex.size
  }

  /** The proposal was appended at (index, term). */
  appended(index: number, term: number, done: ProposalResult): void {
    // A second proposal at the same index means the first entry was overwritten.
    const old = this.byIndex.get(index)
    if (old !== undefined) failProposal(old.done, new LeaderChanged({ index }))
    this.byIndex.set(index, { term, done })
  }

  /** The entry at `index` with `term` was applied with `result` (null for a non-KV entry). */
  applied(index: number, term: number, result: ApplyResult | null): void {
    const w = this.byIndex.get(index)
    if (w === undefined) return
    this.byIndex.delete(index)
    if (w.term === term) succeedProposal(w.done, result)
    else failProposal(w.done, new LeaderChanged({ index }))
  }

  /** Everything at or below `index` was replaced wholesale (a snapshot install): outcome unknown. */
  supersededThrough(index: number): void {
    for (const [i, w] of this.byIndex) {
      if (i <= index) {
        this.byIndex.delete(i)
        failProposal(w.done, new LeaderChanged({ index: i }))
      }
    }
  }

  failAll(reason: string): void {
    for (const w of this.byIndex.values()) failProposal(w.done, new ReplicaStopped({ reason }))
    this.byIndex.clear()
  }
}

/** Readers waiting until the state machine has applied at least some index. */
export class AppliedWatch {
  /** `done(null)` once applied, `done(stopped)` if the replica stops first. */
  private waiting: { readonly index: number; readonly done: (stopped: ReplicaStopped | null) => void }[] = []

  constructor(private current: number) {}

  get applied(): number {
    return this.current
  }

  advance(index: number): void {
    if (index <= this.current) return
    this.current = index
    if (this.waiting.length === 0) return
    const still: typeof this.waiting = []
    for (const w of this.waiting) {
      if (w.index <= index) w.done(null)
      else still.push(w)
    }
    this.waiting = still
  }

  /** Completes once applied >= index. */
  await(index: number): Effect.Effect<void, ReplicaStopped> {
    return Effect.suspend(() => {
      if (index <= this.current) return Effect.void
      const done = Deferred.unsafeMake<void, ReplicaStopped>(FiberId.none)
      this.whenApplied(index, (stopped) =>
        Deferred.unsafeDone(done, stopped === null ? Effect.void : Effect.fail(stopped)),
      )
      return Deferred.await(done)
    })
  }

  /** The same for a caller that is not a fiber: `done(null)` once applied >= index (at once if it is). */
  whenApplied(index: number, done: (stopped: ReplicaStopped | null) => void): void {
    if (index <= this.current) done(null)
    else this.waiting.push({ index, done })
  }

  failAll(reason: string): void {
    const stopped = new ReplicaStopped({ reason })
    for (const w of this.waiting) w.done(stopped)
    this.waiting = []
  }
}
