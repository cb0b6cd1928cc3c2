/**
 * Group commit: Readys submitted by many groups (and many proposals) in the same turn of the
 * event loop share ONE transaction and therefore one fsync. Each caller learns when its own
 * Ready is durable (promise or callback), and only then may send its messages.
 *
 * Each Ready runs under its own SAVEPOINT inside the shared transaction, so a Ready that breaks
 * the log's rules fails alone, while a storage failure (I/O error, corruption) fails the batch.
 * The flush is scheduled through an injected function (default: after the pending I/O
 * callbacks, so every message that arrived in this turn joins the batch); `flush()` runs it
 * synchronously, which the simulator and tests use.
 */
import { Effect } from "effect"
import type { GroupId } from "../../schemas/raft.ts"
import { CorruptionError, StorageError } from "./errors.ts"
import type { LogStore, ReadyToPersist } from "./log-store.ts"

export type Durable = (error: Error | null) => void

export interface GroupCommitOptions {
  /** Arranges for `flush` to run soon. Default: `setImmediate` (or a microtask where it is missing). */
  readonly schedule?: (flush: () => void) => void
  /** Bound on entries per transaction (default 10 000); a larger backlog takes several transactions. */
  readonly maxBatchEntries?: number
}

export interface GroupCommitStats {
  /** Committed transactions: with synchronous=FULL in WAL mode, one fsync each. */
  readonly transactions: number
  readonly readys: number
  readonly entries: number
  readonly failedReadys: number
}

interface Pending {
  readonly group: GroupId
  readonly ready: ReadyToPersist
  readonly done: Durable
}

const defaultSchedule = (flush: () => void): void => {
  const g = globalThis as { setImmediate?: (fn: () => void) => unknown }
  if (typeof g.setImmediate === "function") g.setImmediate(flush)
  else queueMicrotask(flush)
}

export class GroupCommitter {
  private queue: Pending[] = []
  private scheduled = false
  private readonly schedule: (flush: () => void) => void
  private readonly maxBatchEntries: number
  private counters = { transactions: 0, readys: 0, entries: 0, failedReadys: 0 }

  constructor(
    readonly store: LogStore,
    options: GroupCommitOptions = {},
  ) {
    this.schedule = options.schedule ?? defaultSchedule
    this.maxBatchEntries = options.maxBatchEntries ?? 10_000
  }

  get stats(): GroupCommitStats {
    return { ...this.counters }
  }

  /** Number of Readys waiting for the next flush. */
  get pending(): number {
    return this.queue.length
  }

  /** Queues a Ready; `done(null)` runs once it is durable, `done(error)` if it is not. */
  submitWith(group: GroupId, ready: ReadyToPersist, done: Durable): void {
    this.queue.push({ group, ready, done })
    if (!this.scheduled) {
      this.scheduled = true
      this.schedule(() => {
        this.scheduled = false
        this.flush()
      })
    }
  }

  /** Queues a Ready; resolves once it is durable. */
  submit(group: GroupId, ready: ReadyToPersist): Promise<void> {
    return new Promise((resolve, reject) =>
      this.submitWith(group, ready, (error) => (error === null ? resolve() : reject(error))),
    )
  }

  /** The Effect form of `submit`. */
  persist(group: GroupId, ready: ReadyToPersist): Effect.Effect<void, StorageError | CorruptionError> {
    return Effect.async<void, StorageError | CorruptionError>((resume) => {
      this.submitWith(group, ready, (error) =>
        resume(error === null ? Effect.void : Effect.fail(asStorageFailure(this.store.file, error))),
      )
    })
  }

  /** Commits everything queued now; returns the number of transactions it took. */
  flush(): number {
    let transactions = 0
    while (this.queue.length > 0) {
      const batch = this.takeBatch()
      this.commitBatch(batch)
      transactions++
    }
    return transactions
  }

  private takeBatch(): Pending[] {
    let entries = 0
    let n = 0
    while (n < this.queue.length) {
      const size = this.queue[n]!.ready.entries.length
      if (n > 0 && entries + size > this.maxBatchEntries) break
      entries += size
      n++
    }
    return this.queue.splice(0, n)
  }

  private commitBatch(batch: readonly Pending[]): void {
    const errors: (Error | null)[] = batch.map(() => null)
    try {
      this.store.db.transaction(() => {
        batch.forEach((p, i) => {
          this.store.db.exec("SAVEPOINT ready")
          try {
            this.store.applyReady(p.group, p.ready)
            this.store.db.exec("RELEASE ready")
          } catch (error) {
            try {
              this.store.db.exec("ROLLBACK TO ready")
              this.store.db.exec("RELEASE ready")
            } catch {
              throw error // SQLite already rolled the whole transaction back (I/O error, disk full)
            }
            // Corruption (or a failing database) is the batch's fate, not one Ready's.
            if (this.store.quarantined !== null || !(error instanceof StorageError)) throw error
            errors[i] = error
          }
        })
      })
    } catch (error) {
      const failure = this.store.quarantined ?? asError(error)
      this.counters.failedReadys += batch.length
      for (const p of batch) p.done(failure)
      return
    }
    this.counters.transactions++
    batch.forEach((p, i) => {
      const error = errors[i]!
      if (error === null) {
        this.counters.readys++
        this.counters.entries += p.ready.entries.length
      } else {
        this.counters.failedReadys++
      }
      p.done(error)
    })
  }
}

const asError = (error: unknown): Error => (error instanceof Error ? error : new Error(String(error)))

const asStorageFailure = (file: string, error: Error): StorageError | CorruptionError =>
  error instanceof StorageError || error instanceof CorruptionError
    ? error
    : new StorageError({
        file,
        message: `${file}: could not make the Ready durable (${error.message}); check the disk (space, permissions, I/O errors) and restart the node`,
      })
