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
 *
 * Two ways to reach the disk:
 *  - without `sync` (the database's own `synchronous` mode, FULL for a durable log): each COMMIT
 *    fsyncs on the JS thread, and callers hear back when `flush` returns;
 *  - with `sync` (the database at synchronous=NORMAL, see wal-sync.ts): COMMIT only hands the
 *    WAL frames to the OS, and `sync` makes them durable off the JS thread. Callers hear back
 *    only after the sync that covers their transaction completed. Transactions committed while
 *    a sync is running wait for the next one, so one sync serves every Ready of that interval.
 *    A failed sync fails every Ready it covered and every later one: after an fsync error the
 *    file's state is unknown, so the store stops accepting writes.
 */
import type { GroupId } from "../../schemas/raft.ts"
import { LogStoreError } from "./errors.ts"
import type { LogStore, ReadyToPersist } from "./log-store.ts"
import type { SyncDone } from "./wal-sync.ts"

export type Durable = (error: Error | null) => void

export interface GroupCommitOptions {
  /** Arranges for `flush` to run soon. Default: `setImmediate` (or a microtask where it is missing). */
  readonly schedule?: (flush: () => void) => void
  /** Bound on entries per transaction (default 10 000); a larger backlog takes several transactions. */
  readonly maxBatchEntries?: number
  /**
   * Told each committed transaction's duration in seconds, from its start until it is durable
   * (write + fsync, or write + the sync covering it): the WAL latency metric.
   */
  readonly observe?: (seconds: number) => void
  /**
   * Makes every committed transaction durable and then calls `done` (see wal-sync.ts). When
   * set, transactions are committed without an fsync of their own and their Readys are
   * acknowledged only once a sync that started after their COMMIT has completed.
   */
  readonly sync?: (done: SyncDone) => void
}

export interface GroupCommitStats {
  /** Committed transactions: with synchronous=FULL in WAL mode, one fsync each. */
  readonly transactions: number
  readonly readys: number
  readonly entries: number
  readonly failedReadys: number
  /** Completed `sync` calls (0 without a `sync` option). */
  readonly syncs: number
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
  private readonly observe: ((seconds: number) => void) | undefined
  private counters = { transactions: 0, readys: 0, entries: 0, failedReadys: 0, syncs: 0 }
  private readonly sync: ((done: SyncDone) => void) | null
  /** Committed but not yet covered by a sync: their callers wait for the next one. */
  private unsynced: { readonly done: Durable; readonly error: Error | null }[] = []
  /** Start times (performance.now) of the committed transactions the next sync covers. */
  private unsyncedStarts: number[] = []
  private syncing = false
  /** A failed sync poisons the committer (the file's state after an fsync error is unknown). */
  private syncFailure: Error | null = null

  constructor(
    readonly store: LogStore,
    options: GroupCommitOptions = {},
  ) {
    this.schedule = options.schedule ?? defaultSchedule
    this.maxBatchEntries = options.maxBatchEntries ?? 10_000
    this.observe = options.observe
    this.sync = options.sync ?? null
  }

  get stats(): GroupCommitStats {
    return { ...this.counters }
  }

  /** Number of Readys waiting for the next flush or for a sync to cover them. */
  get pending(): number {
    return this.queue.length + this.unsynced.length + (this.syncing ? 1 : 0)
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

  /**
   * Commits everything queued when it is called; returns the number of transactions it took.
   * Readys submitted from the callbacks meanwhile wait for the next scheduled flush, so a busy
   * writer cannot keep the event loop from running.
   */
  flush(): number {
    let transactions = 0
    let backlog = this.queue.length
    while (backlog > 0) {
      const batch = this.takeBatch(backlog)
      backlog -= batch.length
      this.commitBatch(batch)
      transactions++
    }
    if (transactions > 0) this.startSync()
    return transactions
  }

  /** Hands an outcome to the caller now (no sync mode) or once the next sync completes. */
  private settle(done: Durable, error: Error | null): void {
    if (this.sync === null) notify(done, error)
    else this.unsynced.push({ done, error })
  }

  private startSync(): void {
    if (this.sync === null || this.syncing || this.unsynced.length === 0) return
    const covered = this.unsynced
    const starts = this.unsyncedStarts
    this.unsynced = []
    this.unsyncedStarts = []
    if (this.syncFailure !== null) {
      for (const c of covered) notify(c.done, this.syncFailure)
      return
    }
    this.syncing = true
    this.sync((error) => {
      this.syncing = false
      if (error !== null) this.syncFailure ??= error
      else this.counters.syncs++
      if (error === null && this.observe !== undefined) {
        const now = performance.now()
        for (const start of starts) this.observe((now - start) / 1000)
      }
      for (const c of covered) notify(c.done, error ?? c.error)
      this.startSync()
    })
  }

  private takeBatch(limit: number): Pending[] {
    let entries = 0
    let n = 0
    while (n < limit) {
      const size = this.queue[n]!.ready.entries.length
      if (n > 0 && entries + size > this.maxBatchEntries) break
      entries += size
      n++
    }
    return this.queue.splice(0, n)
  }

  private commitBatch(batch: readonly Pending[]): void {
    if (this.syncFailure !== null) {
      this.counters.failedReadys += batch.length
      for (const p of batch) notify(p.done, this.syncFailure)
      return
    }
    const errors: (Error | null)[] = batch.map(() => null)
    const db = this.store.db // savepoints as cached statements: no SQL parsing per Ready
    const start = this.observe === undefined && this.sync === null ? 0 : performance.now()
    try {
      this.store.db.transaction(() => {
        batch.forEach((p, i) => {
          db.prepare("SAVEPOINT ready").run()
          try {
            this.store.applyReady(p.group, p.ready)
            db.prepare("RELEASE ready").run()
          } catch (error) {
            try {
              db.prepare("ROLLBACK TO ready").run()
              db.prepare("RELEASE ready").run()
            } catch {
              throw error // SQLite already rolled the whole transaction back (I/O error, disk full)
            }
            // Corruption (or a failing database) is the batch's fate, not one Ready's.
            if (this.store.quarantined !== null || !(error instanceof LogStoreError)) throw error
            errors[i] = error
          }
        })
      })
    } catch (error) {
      const failure = this.store.quarantined ?? asError(error)
      this.counters.failedReadys += batch.length
      for (const p of batch) this.settle(p.done, failure)
      return
    }
    this.counters.transactions++
    if (this.sync !== null) this.unsyncedStarts.push(start)
    else this.observe?.((performance.now() - start) / 1000)
    batch.forEach((p, i) => {
      const error = errors[i]!
      if (error === null) {
        this.counters.readys++
        this.counters.entries += p.ready.entries.length
      } else {
        this.counters.failedReadys++
      }
      this.settle(p.done, error)
    })
  }
}

const asError = (error: unknown): Error => (error instanceof Error ? error : new Error(String(error)))

/** A throwing callback must not keep the other callers of the batch from hearing back. */
const notify = (done: Durable, error: Error | null): void => {
  try {
    done(error)
  } catch (thrown) {
    queueMicrotask(() => {
      throw thrown
    })
  }
}
