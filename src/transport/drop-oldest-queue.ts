/**
 * A bounded FIFO ring buffer that never blocks: pushing into a full queue evicts the oldest
 * items and reports how many were evicted. Synchronous and pure, so it is trivially testable.
 */
export class DropOldestQueue<A> {
  private readonly items: (A | undefined)[]
  private head = 0
  size = 0

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError(`capacity must be >= 1: ${capacity}`)
    this.items = new Array(capacity)
  }

  /** Appends `values`; returns the number of old items evicted to make room. */
  pushAll(values: readonly A[]): number {
    let evicted = 0
    for (const value of values) {
      if (this.size === this.capacity) {
        this.items[this.head] = undefined
        this.head = (this.head + 1) % this.capacity
        this.size--
        evicted++
      }
      this.items[(this.head + this.size) % this.capacity] = value
      this.size++
    }
    return evicted
  }

  /** Removes and returns every queued item, oldest first. */
  takeAll(): A[] {
    const out: A[] = new Array(this.size)
    for (let i = 0; i < out.length; i++) {
      const slot = (this.head + i) % this.capacity
      out[i] = this.items[slot] as A
      this.items[slot] = undefined
    }
    this.head = 0
    this.size = 0
    return out
  }
}
