/** An unbounded async queue: producers push, one consumer iterates; fail() ends it with an error. */
export class AsyncQueue<T> implements AsyncIterable<T> {
  private readonly items: T[] = []
  private waiting: ((r: IteratorResult<T>) => void) | undefined
  private failWaiting: ((e: unknown) => void) | undefined
  private error: { e: unknown } | undefined
  private closed = false

  /** Items waiting for the consumer. */
  get size(): number {
    return this.items.length
  }

  push(item: T): void {
    if (this.closed) return
    const w = this.waiting
    if (w !== undefined) {
      this.waiting = undefined
      this.failWaiting = undefined
      w({ value: item, done: false })
    } else this.items.push(item)
  }

  fail(e: unknown): void {
    if (this.closed) return
    this.closed = true
    this.error = { e }
    const f = this.failWaiting
    this.waiting = undefined
    this.failWaiting = undefined
    f?.(e)
  }

  close(): void {
    if (this.closed) return
    this.closed = true
    const w = this.waiting
    this.waiting = undefined
    this.failWaiting = undefined
    w?.({ value: undefined, done: true })
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: () => {
        const item = this.items.shift()
        if (item !== undefined) return Promise.resolve({ value: item, done: false })
        if (this.error !== undefined) return Promise.reject(this.error.e)
        if (this.closed) return Promise.resolve({ value: undefined, done: true })
        return new Promise((resolve, reject) => {
          this.waiting = resolve
          this.failWaiting = reject
        })
      },
      return: () => {
        this.close()
        return Promise.resolve({ value: undefined, done: true })
      },
    }
  }
}
