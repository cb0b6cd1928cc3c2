/**
 * Where requests wait for the apply loop: proposals by log index (resolved when the entry at
 * that index is applied, iff it carries the term the leader appended it with), and reads by
 * applied index. Plain maps shared by a group's replica and apply loop (one JS thread).
 */
import { Deferred, Effect, FiberId } from "effect"
import type { ApplyResult } from "../src/kv/state-machine.ts"
import { LeaderChanged, ReplicaStopped, type RequestFailure } from "./errors.ts"

export type ProposalResult = Deferred.Deferred<ApplyResult | null, RequestFailure>

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
    if (old !== undefined) Deferred.unsafeDone(old.done, Effect.fail(new LeaderChanged({ index })))
    this.byIndex.set(index, { term, done })
  }

  /** The entry at `index` with `term` was applied with `result` (null for a non-KV entry). */
  applied(index: number, term: number, result: ApplyResult | null): void {
    const w = this.byIndex.get(index)
    if (w === undefined) return
    this.byIndex.delete(index)
    if (w.term === term) Deferred.unsafeDone(w.done, Effect.succeed(result))
    else Deferred.unsafeDone(w.done, Effect.fail(new LeaderChanged({ index })))
  }

  /** Everything at or below `index` was replaced wholesale (a snapshot install): outcome unknown. */
  supersededThrough(index: number): void {
    for (const [i, w] of this.byIndex) {
      if (i <= index) {
        this.byIndex.delete(i)
        Deferred.unsafeDone(w.done, Effect.fail(new LeaderChanged({ index: i })))
      }
    }
  }

  failAll(reason: string): void {
    for (const w of this.byIndex.values()) {
      Deferred.unsafeDone(w.done, Effect.fail(new ReplicaStopped({ reason })))
    }
    this.byIndex.clear()
  }
}

/** Readers waiting until the state machine has applied at least some index. */
export class AppliedWatch {
  private waiting: { readonly index: number; readonly done: Deferred.Deferred<void, ReplicaStopped> }[] = []

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
      if (w.index <= index) Deferred.unsafeDone(w.done, Effect.void)
      else still.push(w)
    }
    this.waiting = still
  }

  /** Completes once applied >= index. */
  await(index: number): Effect.Effect<void, ReplicaStopped> {
    return Effect.suspend(() => {
      if (index <= this.current) return Effect.void
      const done = Deferred.unsafeMake<void, ReplicaStopped>(FiberId.none)
      this.waiting.push({ index, done })
      return Deferred.await(done)
    })
  }

  failAll(reason: string): void {
    for (const w of this.waiting) Deferred.unsafeDone(w.done, Effect.fail(new ReplicaStopped({ reason })))
    this.waiting = []
  }
}
