/**
 * ApplyLoop: applies committed entries to the group's KvStateMachine in batches (one SQLite
 * transaction per batch, which also records the applied index), resolves the proposals waiting
 * on those indexes, wakes reads waiting for the applied index, and tells the replica how far it
 * applied. Every `snapshotInterval` entries it takes a snapshot so the Raft log can be compacted.
 * Between batches it advances a pending MVCC compaction in bounded steps. Each applied entry's
 * events, and each snapshot install, are reported to the group's watch hub (which never blocks).
 * With the state machine's commit windows on, a batch's writes stay in its open transaction
 * until a `commit` task (the group ticker sends one each tick while a window is open) or a
 * snapshot commits them.
 *
 * A batch is plain code that the queue (an `Inbox`) runs in a microtask once tasks arrive, as the
 * replica's cycles are: waking a fiber per batch cost about 25 µs more. The loop's fiber runs what
 * is an Effect (a snapshot install, a snapshot, waiting for room in the replica's mailbox; the
 * batches wait for it) and the compaction steps, and ends with the first failure.
 */
import { Deferred, Effect, FiberId, Queue } from "effect"
import { type Entry, emptyConfState, type GroupId } from "../schemas/raft.ts"
import { decodeCommand } from "../src/kv/codec.ts"
import { streamSnapshot } from "../src/kv/snapshot.ts"
import type { ApplyResult, CommittedEntry, KvStateMachine } from "../src/kv/state-machine.ts"
import type { KvEvent } from "../src/kv/write-txn.ts"
import { type GroupMetrics, secondsSince } from "../src/metrics/node-metrics.ts"
import { repeatForever } from "../src/repeat-forever.ts"
import type { SqliteDatabase } from "../src/storage/driver.ts"
import type { Inbox, Offerable } from "./inbox.ts"
import type { ApplyTask, ReplicaInput } from "./mailbox.ts"
import { decodeKvSnapshot, encodeKvSnapshot, encodeKvSnapshotYielding } from "./snapshot-data.ts"
import type { AppliedWatch, ProposalWaiters } from "./waiters.ts"

export interface ApplyLoopDeps {
  readonly group: GroupId
  readonly sm: KvStateMachine
  /** Unbounded (the replica must never wait for room): `new Inbox(Number.POSITIVE_INFINITY)`. */
  readonly applyQueue: Inbox<ApplyTask>
  readonly mailbox: Offerable<ReplicaInput>
  readonly proposals: ProposalWaiters
  readonly applied: AppliedWatch
  /** Applied entries between snapshots. */
  readonly snapshotInterval: number
  /** Index of the latest durable snapshot at start. */
  readonly lastSnapshotIndex: number
  readonly maxTasksPerBatch?: number
  readonly metrics?: GroupMetrics
  /** Told about every change, synchronously and in order (the WatchHub). */
  readonly changes?: AppliedChanges
  /**
   * A second connection to the state machine's database: automatic snapshots are read through
   * it in the background (a read transaction fixes their point in time) while applies go on.
   * Without it they are taken inline, stalling the loop for as long as they take.
   */
  readonly snapshotReader?: SqliteDatabase
}

/** Who hears about applied changes: must return at once and never throw. */
export interface AppliedChanges {
  /** One entry changed the store to `revision` with `events`. */
  applied(revision: number, events: readonly KvEvent[]): void
  /** A snapshot replaced the store, now at `revision`. */
  restored(revision: number): void
}

export class ApplyFailed extends Error {
  override readonly name = "ApplyFailed"
}

/** Rows per background snapshot chunk, between two turns of the event loop (a few ms each). */
const BACKGROUND_CHUNK_BYTES = 32 * 1024

export const runApplyLoop = (deps: ApplyLoopDeps): Effect.Effect<never, ApplyFailed> => {
  const sm = deps.sm
  let lastSnapshot = deps.lastSnapshotIndex
  let lastTerm = 0

  const applyEntries = (entries: readonly Entry[]): void => {
    const fresh = entries.filter((e) => e.index > sm.appliedIndex)
    if (fresh.length === 0) return
    const normal: CommittedEntry[] = []
    for (const e of fresh) {
      if (e.type === "normal" && e.data.length > 0)
        normal.push({ index: e.index, command: decodeCommand(e.data) })
    }
    const results = new Map<number, ApplyResult>()
    const out = sm.applyBatch(normal)
    normal.forEach((c, i) => {
      const r = out[i]!
      results.set(c.index, r)
      if (r.events.length > 0) deps.changes?.applied(r.revision, r.events)
    })
    const last = fresh[fresh.length - 1]!
    if (last.index > sm.appliedIndex) sm.advance(last.index)
    lastTerm = last.term
    for (const e of fresh) deps.proposals.applied(e.index, e.term, results.get(e.index) ?? null)
  }

  const install = (task: Extract<ApplyTask, { _tag: "install" }>) =>
    Effect.tryPromise({
      try: () => sm.restore(decodeKvSnapshot(task.snapshot.data)),
      catch: (e) => new ApplyFailed(`group ${deps.group}: snapshot install failed: ${String(e)}`),
    }).pipe(
      Effect.tap(() =>
        Effect.sync(() => {
          deps.proposals.supersededThrough(task.snapshot.meta.index)
          deps.changes?.restored(sm.revision)
          lastSnapshot = task.snapshot.meta.index
          lastTerm = task.snapshot.meta.term
        }),
      ),
    )

  /** The background snapshot's chunk stream while one is being read (closed on the way out). */
  let reading: Generator<Uint8Array> | null = null

  /** Whether an automatic snapshot is due (taking it is `maybeSnapshot`, an Effect). */
  const snapshotDue = (): boolean =>
    reading === null && sm.appliedIndex - lastSnapshot >= deps.snapshotInterval && lastTerm !== 0

  const maybeSnapshot = Effect.suspend(() => {
    if (!snapshotDue()) return Effect.void
    lastSnapshot = sm.appliedIndex
    const meta = { index: sm.appliedIndex, term: lastTerm, conf: emptyConfState }
    if (deps.snapshotReader === undefined) {
      return deps.mailbox.offer({
        _tag: "snapshotTaken",
        snapshot: { meta, data: encodeKvSnapshot(sm) },
      })
    }
    // The reader's connection sees only committed writes: commit the window first.
    try {
      sm.commitWindow()
    } catch (e) {
      return Effect.fail(
        new ApplyFailed(`group ${deps.group}: commit before a snapshot failed: ${String(e)}`),
      )
    }
    // The first chunk opens the read transaction now, between two applies: the snapshot is the
    // state at `meta.index` exactly, whatever is applied while the rest is read.
    const stream = streamSnapshot(deps.snapshotReader, sm.tables, BACKGROUND_CHUNK_BYTES)
    const first = stream.next()
    if (first.done === true) return Effect.void
    reading = stream
    return Effect.fork(
      encodeKvSnapshotYielding(first.value, stream).pipe(
        Effect.flatMap((data) => deps.mailbox.offer({ _tag: "snapshotTaken", snapshot: { meta, data } })),
        Effect.ensuring(Effect.sync(() => (reading = null))),
      ),
    )
  })

  /**
   * An operator's snapshot: taken at the applied index whatever the interval. The term may be
   * unknown here (nothing applied since start): 0 lets the replica fill in its log's term.
   */
  const snapshotNow = (task: Extract<ApplyTask, { _tag: "snapshotNow" }>) =>
    Effect.suspend(() => {
      lastSnapshot = Math.max(lastSnapshot, sm.appliedIndex)
      const snapshot = {
        meta: { index: sm.appliedIndex, term: lastTerm, conf: emptyConfState },
        data: encodeKvSnapshot(sm),
      }
      return deps.mailbox.offer({
        _tag: "snapshotTaken",
        snapshot,
        done: task.done,
        ...(task.keepEntries === undefined ? {} : { keepEntries: task.keepEntries }),
      })
    })

  type PlainTask = Extract<ApplyTask, { _tag: "entries" | "commit" }>
  const onlyPlain = (tasks: Iterable<ApplyTask>): tasks is Iterable<PlainTask> => {
    for (const task of tasks) if (task._tag !== "entries" && task._tag !== "commit") return false
    return true
  }

  const applyFailed = (e: unknown) => new ApplyFailed(`group ${deps.group}: apply failed: ${String(e)}`)
  const commitFailed = (e: unknown) => new ApplyFailed(`group ${deps.group}: commit failed: ${String(e)}`)

  /**
   * The usual batch, entries (and commits) only, as plain code: this runs for every commit round,
   * so each Effect operation in it would be paid hundreds of times a second. Returns what is left
   * for the fiber (null: nothing).
   */
  const applyNow = (tasks: Iterable<PlainTask>): Effect.Effect<void, ApplyFailed> | null => {
    const entries: Entry[] = []
    let commit = false
    for (const task of tasks) {
      if (task._tag === "commit") commit = true
      else for (const e of task.entries) entries.push(e)
    }
    try {
      if (entries.length > 0) {
        const start = performance.now()
        applyEntries(entries)
        deps.metrics?.applySeconds.observe(secondsSince(start))
      }
    } catch (e) {
      return Effect.fail(applyFailed(e))
    }
    if (commit) {
      try {
        sm.commitWindow()
      } catch (e) {
        return Effect.fail(commitFailed(e))
      }
      if (entries.length === 0) return null
    }
    deps.applied.advance(sm.appliedIndex)
    const applied: ReplicaInput = { _tag: "applied", index: sm.appliedIndex }
    if (!deps.mailbox.unsafeOffer(applied)) return Effect.zipRight(deps.mailbox.offer(applied), maybeSnapshot)
    return snapshotDue() ? maybeSnapshot : null
  }

  /** A batch with installs or operators' snapshots: an Effect, run on the fiber. */
  const withEffects = (tasks: readonly ApplyTask[]) =>
    Effect.gen(function* () {
      let pending: Entry[] = []
      const flush = Effect.try({
        try: () => {
          if (pending.length === 0) return
          const start = performance.now()
          applyEntries(pending)
          pending = []
          deps.metrics?.applySeconds.observe(secondsSince(start))
        },
        catch: applyFailed,
      })
      for (const task of tasks) {
        if (task._tag === "entries") {
          for (const e of task.entries) pending.push(e)
        } else if (task._tag === "commit") {
          yield* flush
          yield* Effect.try({ try: () => sm.commitWindow(), catch: commitFailed })
        } else if (task._tag === "snapshotNow") {
          yield* flush
          yield* snapshotNow(task)
        } else {
          yield* flush
          yield* install(task)
        }
      }
      yield* flush
      deps.applied.advance(sm.appliedIndex)
      yield* deps.mailbox.offer({ _tag: "applied", index: sm.appliedIndex })
      yield* maybeSnapshot
    })

  const inbox = deps.applyQueue
  const maxTasks = deps.maxTasksPerBatch ?? 64
  /** Effects the plain batches hand to the loop's fiber, run one after another. */
  const fiberWork = Effect.runSync(Queue.unbounded<Effect.Effect<void, ApplyFailed>>())
  /** Set by a defect in a plain batch: the loop stops with it. */
  const failed = Deferred.unsafeMake<never, ApplyFailed>(FiberId.none)
  let stopped = false
  /** While the fiber runs work that later tasks must follow, the plain batches wait. */
  let paused = false

  /** Hands `work` to the fiber; the batches after it wait until it is done. */
  const inOrder = (work: Effect.Effect<void, ApplyFailed>): void => {
    paused = true
    fiberWork.unsafeOffer(
      Effect.ensuring(
        work,
        Effect.sync(() => {
          paused = false
          inbox.kick()
          compactWhenIdle()
        }),
      ),
    )
  }

  /**
   * A pending compaction sweep advances one bounded step at a time on the fiber, only while no
   * task waits (applies first) and nothing runs in order (an install's restore is asynchronous).
   */
  let stepQueued = false
  const compactionStep = Effect.suspend(() => {
    stepQueued = false
    if (stopped || paused || inbox.size > 0 || sm.isCompacted(sm.compactRevision)) return Effect.void
    try {
      sm.compactStep()
    } catch (e) {
      return Effect.fail(new ApplyFailed(`group ${deps.group}: compaction failed: ${String(e)}`))
    }
    return Effect.zipRight(Effect.yieldNow(), Effect.sync(compactWhenIdle))
  })
  const compactWhenIdle = (): void => {
    if (stepQueued || stopped || sm.isCompacted(sm.compactRevision)) return
    stepQueued = true
    fiberWork.unsafeOffer(compactionStep)
  }

  /** One batch, run by the inbox in a microtask. */
  const batch = (): void => {
    if (stopped || paused) return
    const tasks = inbox.take(maxTasks)
    if (tasks.length === 0) return
    try {
      const rest = onlyPlain(tasks) ? applyNow(tasks) : withEffects(tasks)
      if (rest !== null) inOrder(rest)
    } catch (defect) {
      stopped = true
      Deferred.unsafeDone(failed, Effect.fail(applyFailed(defect)))
      return
    }
    compactWhenIdle()
  }

  return Effect.suspend(() => {
    inbox.setConsumer(batch)
    compactWhenIdle()
    return Effect.raceFirst(repeatForever(Effect.flatten(Queue.take(fiberWork))), Deferred.await(failed))
  }).pipe(
    Effect.ensuring(
      Effect.sync(() => {
        stopped = true
        inbox.setConsumer(null)
        // A snapshot read cut short must not leave its read transaction open.
        reading?.return(undefined)
      }),
    ),
  )
}
