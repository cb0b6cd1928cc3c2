/**
 * A Porcupine-style linearizability checker: the Wing & Gong search with Lowe's memoization.
 *
 * The search walks an ordered list of call/return events. At a call it tries to linearize that
 * operation now (the model must accept it); at a return it has failed to place a completed
 * operation before its deadline and backtracks. A cache of (set of linearized ops, model state)
 * prunes configurations already explored, which is what keeps the search tractable.
 *
 * An indeterminate operation (the client never saw the reply) has `ret = Infinity`: it may take
 * effect at any point after its call, or never. "Never" is the same as "at the very end", so the
 * search succeeds as soon as every operation left has an infinite return time.
 *
 * This file is model-agnostic; `linearizability-kv.ts` supplies the register model and the
 * per-key partitioning.
 */

export interface Model<S, I, O> {
  readonly init: () => S
  /** Apply `input` in `state`; `ok` is false when the model cannot produce `output`. */
  readonly step: (state: S, input: I, output: O) => { readonly ok: boolean; readonly state: S }
  /** A canonical encoding of a state, for the memoization cache. */
  readonly stateKey: (state: S) => string
}

export interface Operation<I, O> {
  /** Caller's id for reporting. */
  readonly id: number
  readonly client: number
  readonly input: I
  readonly output: O
  readonly call: number
  /** Infinity when the outcome is unknown (timeout, crash). */
  readonly ret: number
}

export type SearchResult =
  | { readonly kind: "ok" }
  /** `longest` is the largest set of operation ids linearized in one attempt. */
  | { readonly kind: "illegal"; readonly longest: readonly number[] }
  | { readonly kind: "unknown" }

export interface Budget {
  /** Maximum search steps (model steps + backtracks) before answering "unknown". */
  readonly maxSteps: number
  /** Optional wall deadline, as a caller-supplied predicate (the checker owns no clock). */
  readonly expired?: () => boolean
}

interface Event {
  readonly op: number
  readonly isCall: boolean
  readonly time: number
  prev: Event | null
  next: Event | null
  /** The call's matching return (and vice versa). */
  match: Event | null
}

/** Calls sort before returns at equal times: touching operations count as concurrent (sound). */
const buildEventList = <I, O>(ops: readonly Operation<I, O>[]): Event => {
  const events: Event[] = []
  ops.forEach((op, i) => {
    const call: Event = { op: i, isCall: true, time: op.call, prev: null, next: null, match: null }
    const ret: Event = { op: i, isCall: false, time: op.ret, prev: null, next: null, match: call }
    call.match = ret
    events.push(call, ret)
  })
  events.sort((a, b) => {
    if (a.time !== b.time) return a.time < b.time ? -1 : 1
    if (a.isCall !== b.isCall) return a.isCall ? -1 : 1
    return a.op - b.op
  })
  const head: Event = { op: -1, isCall: false, time: -Infinity, prev: null, next: null, match: null }
  let prev = head
  for (const e of events) {
    prev.next = e
    e.prev = prev
    prev = e
  }
  return head
}

/** Remove a call and its return from the list. */
const lift = (call: Event): void => {
  call.prev!.next = call.next
  if (call.next) call.next.prev = call.prev
  const ret = call.match!
  ret.prev!.next = ret.next
  if (ret.next) ret.next.prev = ret.prev
}

/** Undo `lift`, in the reverse order. */
const unlift = (call: Event): void => {
  const ret = call.match!
  ret.prev!.next = ret
  if (ret.next) ret.next.prev = ret
  call.prev!.next = call
  if (call.next) call.next.prev = call
}

class Bitset {
  private readonly words: Uint32Array
  constructor(n: number) {
    this.words = new Uint32Array(Math.ceil(n / 32) || 1)
  }
  set(i: number): void {
    this.words[i >>> 5]! |= 1 << (i & 31)
  }
  clear(i: number): void {
    this.words[i >>> 5]! &= ~(1 << (i & 31))
  }
  key(): string {
    return Array.from(this.words, (w) => w.toString(36)).join(".")
  }
}

/** Check one partition of operations against `model`. */
export const checkOperations = <S, I, O>(
  model: Model<S, I, O>,
  ops: readonly Operation<I, O>[],
  budget: Budget,
): SearchResult => {
  if (ops.length === 0) return { kind: "ok" }
  const head = buildEventList(ops)
  const linearized = new Bitset(ops.length)
  const cache = new Set<string>()
  const stack: { call: Event; state: S }[] = []
  let state = model.init()
  let longest: number[] = []
  let steps = 0
  let entry = head.next

  while (entry !== null) {
    if (++steps > budget.maxSteps || ((steps & 1023) === 0 && budget.expired?.())) return { kind: "unknown" }
    if (!entry.isCall && entry.time === Infinity) return { kind: "ok" }
    if (entry.isCall) {
      const op = ops[entry.op]!
      const next = model.step(state, op.input, op.output)
      if (next.ok) {
        linearized.set(entry.op)
        const key = `${linearized.key()}|${model.stateKey(next.state)}`
        if (!cache.has(key)) {
          cache.add(key)
          stack.push({ call: entry, state })
          state = next.state
          lift(entry)
          if (stack.length > longest.length) longest = stack.map((s) => ops[s.call.op]!.id)
          entry = head.next
          continue
        }
        linearized.clear(entry.op)
      }
      entry = entry.next
    } else {
      // A completed operation could not be placed before its return: backtrack.
      const top = stack.pop()
      if (top === undefined) return { kind: "illegal", longest }
      state = top.state
      linearized.clear(top.call.op)
      unlift(top.call)
      entry = top.call.next
    }
  }
  return { kind: "ok" }
}
