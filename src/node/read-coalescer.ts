/**
 * Shares one read barrier (a ReadIndex round plus the wait for the apply loop) between all the
 * linearizable reads that arrive while the previous barrier is in flight — etcd's approach:
 * the first read starts a barrier at once; reads arriving meanwhile join ONE next barrier,
 * started when the current one ends. A read never joins a barrier that started before it
 * arrived: the index such a round proves may predate a write acknowledged in between, so every
 * read stays linearizable. A failing barrier fails exactly the reads that joined it (LIN-BOUND:
 * no read is answered without a proven index).
 *
 * The per-read cost is one promise; the Effect machinery (fibers, Deferreds, the timeout) runs
 * once per batch. A batch's time budget counts from its first read's arrival, so no read waits
 * longer than the request timeout for the barrier it joined.
 */

interface Batch<A> {
  readonly since: number
  readonly promise: Promise<A>
  readonly resolve: (a: A) => void
  readonly reject: (e: unknown) => void
  size: number
}

export class ReadCoalescer<A> {
  private waiting: Batch<A> | null = null
  private busy = false

  /**
   * `barrier(budgetMs, reads)` proves one read index for `reads` reads, within `budgetMs`.
   * `now` is a monotonic clock in ms (elapsed time only).
   */
  constructor(
    private readonly barrier: (budgetMs: number, reads: number) => Promise<A>,
    private readonly timeoutMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Resolves once a barrier that started after this call has completed. */
  read(): Promise<A> {
    let batch = this.waiting
    if (batch === null) {
      let resolve!: (a: A) => void
      let reject!: (e: unknown) => void
      const promise = new Promise<A>((res, rej) => {
        resolve = res
        reject = rej
      })
      batch = { since: this.now(), promise, resolve, reject, size: 0 }
      this.waiting = batch
    }
    batch.size++
    if (!this.busy) this.startNext()
    return batch.promise
  }

  /** Barriers in flight (0 or 1) and reads waiting for the next one: for tests and metrics. */
  get pending(): { readonly inFlight: boolean; readonly waiting: number } {
    return { inFlight: this.busy, waiting: this.waiting?.size ?? 0 }
  }

  private startNext(): void {
    const batch = this.waiting
    if (batch === null) return
    this.waiting = null
    this.busy = true
    const budget = Math.max(1, this.timeoutMs - (this.now() - batch.since))
    let started: Promise<A>
    try {
      started = this.barrier(budget, batch.size)
    } catch (e) {
      started = Promise.reject(e)
    }
    started.then(batch.resolve, batch.reject).finally(() => {
      this.busy = false
      this.startNext()
    })
  }
}
