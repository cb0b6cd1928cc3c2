/**
 * Property tests: histories produced by a real sequential execution, observed through random
 * call/return windows that contain each operation's linearization point, are always accepted;
 * corrupting one read's result into a never-written value is always rejected.
 */
import { expect, test } from "bun:test"
import fc from "fast-check"
import {
  checkKvHistory,
  type KvInput,
  type KvOperation,
  type KvOutput,
} from "../../support/linearizability-kv.ts"

const runs = Number(process.env.LIN_PROPERTY_RUNS ?? 200)

interface PlannedOp {
  readonly input: KvInput
  readonly before: number
  readonly after: number
  /** The client never hears back (the op still took effect). */
  readonly lostReply: boolean
  /** Issued, never executed, never answered. */
  readonly neverExecuted: boolean
}

const keyArb = fc.constantFrom("a", "b", "c")
const valueArb = fc.constantFrom("1", "2", "3", "4")
const inputArb: fc.Arbitrary<KvInput> = fc.oneof(
  keyArb.map((key) => ({ op: "read" as const, key })),
  fc.record({ key: keyArb, value: valueArb }).map(({ key, value }) => ({ op: "write" as const, key, value })),
  fc
    .record({ key: keyArb, expected: fc.option(valueArb, { nil: null }), value: valueArb })
    .map(({ key, expected, value }) => ({ op: "cas" as const, key, expected, value })),
)
const plannedArb: fc.Arbitrary<PlannedOp> = fc.record({
  input: inputArb,
  before: fc.integer({ min: 0, max: 30 }),
  after: fc.integer({ min: 0, max: 30 }),
  lostReply: fc.boolean(),
  neverExecuted: fc.nat(9).map((n) => n === 0),
})

/** Execute sequentially; op i is linearized at time 10*i + 5, inside [call, ret]. */
const buildHistory = (plan: readonly PlannedOp[], lostEvery: number): KvOperation[] => {
  const store = new Map<string, string>()
  return plan.map((p, i): KvOperation => {
    const point = 10 * i + 5
    const call = Math.max(0, point - p.before)
    const id = i
    const client = i % 5
    if (p.neverExecuted && p.input.op !== "read") {
      return { id, client, input: p.input, output: null, call, ret: Infinity }
    }
    let output: KvOutput
    const current = store.get(p.input.key) ?? null
    switch (p.input.op) {
      case "read":
        output = { op: "read", value: current }
        break
      case "write":
        store.set(p.input.key, p.input.value)
        output = { op: "write" }
        break
      case "cas": {
        const ok = current === p.input.expected
        if (ok) store.set(p.input.key, p.input.value)
        output = { op: "cas", ok }
        break
      }
    }
    if (p.lostReply && i % lostEvery === 0)
      return { id, client, input: p.input, output: null, call, ret: Infinity }
    return { id, client, input: p.input, output, call, ret: point + p.after }
  })
}

test("sequential executions with overlapping windows are linearizable", () => {
  fc.assert(
    fc.property(
      fc.array(plannedArb, { maxLength: 40 }),
      fc.integer({ min: 1, max: 6 }),
      (plan, lostEvery) => {
        const result = checkKvHistory(buildHistory(plan, lostEvery))
        expect(result.kind).toBe("ok")
      },
    ),
    { numRuns: runs, seed: Number(process.env.LIN_PROPERTY_SEED ?? 42) },
  )
})

test("corrupting one completed read into a never-written value is always rejected", () => {
  fc.assert(
    fc.property(fc.array(plannedArb, { minLength: 1, maxLength: 40 }), fc.nat(), (plan, pick) => {
      const history = buildHistory(plan, 1_000_000)
      const reads = history.filter((op) => op.input.op === "read" && op.output !== null)
      fc.pre(reads.length > 0)
      const victim = reads[pick % reads.length]!
      const corrupted = history.map((op) =>
        op === victim ? { ...op, output: { op: "read" as const, value: "never-written" } } : op,
      )
      expect(checkKvHistory(corrupted).kind).toBe("illegal")
    }),
    { numRuns: runs, seed: Number(process.env.LIN_PROPERTY_SEED ?? 42) },
  )
})
