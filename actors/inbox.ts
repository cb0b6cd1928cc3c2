/**
 * A bounded queue whose consumer is plain code. An offer schedules one drain (a microtask)
 * instead of waking a fiber: a fiber's wake-up costs tens of µs here, and a replica's mailbox
 * is woken on every message, durability notice and apply acknowledgement.
 *
 * Producers see the part of `Queue.Enqueue` they use (`unsafeOffer`, and `offer`, which waits
 * for room), so an Effect queue can stand in for an Inbox in tests of a producer.
 */
import { Effect } from "effect"

/** What a producer needs from a replica's mailbox (an Effect `Queue` has it too). */
export interface Offerable<A> {
  /** Queues `value` at once; false (nothing queued) when full. */
  readonly unsafeOffer: (value: A) => boolean
  /** Queues `value`, waiting for room when full. */
  readonly offer: (value: A) => Effect.Effect<boolean>
}

export class Inbox<A> implements Offerable<A> {
  private items: A[] = []
  private head = 0
  private scheduled = false
  /** Values taken so far (tells whether a consumer call took any). */
  private taken = 0
  private consumer: (() => void) | null = null
  /** Offers waiting for room, oldest first: each retries once room is made. */
  private readonly waiting: (() => void)[] = []

  constructor(readonly capacity: number) {}

  get size(): number {
    return this.items.length - this.head
  }

  readonly unsafeOffer = (value: A): boolean => {
    if (this.size >= this.capacity) return false
    this.items.push(value)
    this.schedule()
    return true
  }

  readonly offer = (value: A): Effect.Effect<boolean> =>
    Effect.suspend(() =>
      this.unsafeOffer(value)
        ? Effect.succeed(true)
        : Effect.async<boolean>((resume) => {
            const retry = () => {
              if (this.unsafeOffer(value)) resume(Effect.succeed(true))
              else this.waiting.push(retry)
            }
            this.waiting.push(retry)
            return Effect.sync(() => {
              const i = this.waiting.indexOf(retry)
              if (i >= 0) this.waiting.splice(i, 1)
            })
          }),
    )

  /** Takes up to `max` values, oldest first, and lets offers waiting for room retry. */
  take(max: number): A[] {
    const end = Math.min(this.items.length, this.head + max)
    const out = this.items.slice(this.head, end)
    this.taken += end - this.head
    this.head = end
    if (this.head === this.items.length) {
      this.items = []
      this.head = 0
    } else if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head)
      this.head = 0
    }
    for (let room = this.capacity - this.size; room > 0 && this.waiting.length > 0; room--) {
      this.waiting.shift()!()
    }
    return out
  }

  /**
   * Sets the consumer (null: none). It is called in a microtask after values arrive, and again
   * after it returns while values remain; `kick` asks for a call now that it may take again.
   */
  setConsumer(consumer: (() => void) | null): void {
    this.consumer = consumer
    this.schedule()
  }

  kick(): void {
    this.schedule()
  }

  private schedule(): void {
    if (this.scheduled || this.consumer === null || this.size === 0) return
    this.scheduled = true
    queueMicrotask(this.drain)
  }

  private readonly drain = (): void => {
    this.scheduled = false
    const consumer = this.consumer
    if (consumer === null) return
    const taken = this.taken
    consumer()
    // Again only if it took something: a paused consumer is woken by `kick`.
    if (this.taken !== taken) this.schedule()
  }
}
