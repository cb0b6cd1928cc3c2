/**
 * Linearizability of a key-value register history: read / write / compare-and-set per key.
 *
 * The history is partitioned per key (operations on different keys commute, so a history is
 * linearizable iff each key's sub-history is) and each partition is searched by the WGL checker.
 * On a violation the failing partition is shrunk by dropping operations that do not change the
 * state (reads, failed CAS) while it stays illegal, so the report names only what matters.
 */
import { type Budget, checkOperations, type Model } from "./linearizability.ts"

export type KvInput =
  | { readonly op: "read"; readonly key: string }
  | { readonly op: "write"; readonly key: string; readonly value: string }
  /** `expected: null` means "the key is absent". */
  | { readonly op: "cas"; readonly key: string; readonly expected: string | null; readonly value: string }

export type KvOutput =
  | { readonly op: "read"; readonly value: string | null }
  | { readonly op: "write" }
  | { readonly op: "cas"; readonly ok: boolean }

export interface KvOperation {
  readonly id: number
  readonly client: number
  readonly input: KvInput
  /** null when the client never learned the outcome; then `ret` must be Infinity. */
  readonly output: KvOutput | null
  readonly call: number
  readonly ret: number
}

export type CheckResult =
  | { readonly kind: "ok" }
  | { readonly kind: "illegal"; readonly key: string; readonly info: string }
  | { readonly kind: "unknown"; readonly keys: readonly string[] }

/** One register: its value, or null when absent. */
export const registerModel: Model<string | null, KvInput, KvOutput | null> = {
  init: () => null,
  step: (state, input, output) => {
    switch (input.op) {
      case "read":
        return { ok: output === null || (output.op === "read" && output.value === state), state }
      case "write":
        return { ok: true, state: input.value }
      case "cas": {
        const matches = state === input.expected
        // An unknown CAS that executes behaves as the model says; "never executed" is covered by
        // the search placing it at the end.
        if (output === null || output.op !== "cas") return { ok: true, state: matches ? input.value : state }
        return { ok: output.ok === matches, state: output.ok ? input.value : state }
      }
    }
  },
  stateKey: (state) => (state === null ? "\u0000" : `=${state}`),
}

export const defaultBudget: Budget = { maxSteps: 2_000_000 }

const partitionByKey = (ops: readonly KvOperation[]): Map<string, KvOperation[]> => {
  const parts = new Map<string, KvOperation[]>()
  for (const op of ops) {
    // A read whose result nobody saw constrains nothing.
    if (op.output === null && op.input.op === "read") continue
    const list = parts.get(op.input.key)
    if (list) list.push(op)
    else parts.set(op.input.key, [op])
  }
  return parts
}

const validate = (op: KvOperation): void => {
  if ((op.output === null) !== (op.ret === Infinity))
    throw new Error(`operation ${op.id}: output must be null exactly when ret is Infinity`)
  if (op.output !== null && op.output.op !== op.input.op)
    throw new Error(`operation ${op.id}: output kind ${op.output.op} does not match ${op.input.op}`)
  if (op.ret < op.call) throw new Error(`operation ${op.id}: returns before it is called`)
}

const isStateNeutral = (op: KvOperation): boolean =>
  op.input.op === "read" || (op.output !== null && op.output.op === "cas" && !op.output.ok)

/** Drop state-neutral operations while the partition stays illegal (sound: see module comment). */
const dropNeutral = (ops: readonly KvOperation[], budget: Budget): KvOperation[] => {
  let current = [...ops]
  let attempts = 0
  for (let i = current.length - 1; i >= 0; i--) {
    const op = current[i]!
    if (!isStateNeutral(op)) continue
    // Shrinking is a courtesy to the reader: bound its cost on huge histories.
    if (++attempts > maxShrinkAttempts) break
    const candidate = current.filter((_, j) => j !== i)
    if (checkOperations(registerModel, candidate, budget).kind === "illegal") current = candidate
  }
  return current
}

/**
 * The history as seen at time `t`: operations called after `t` are gone, and those still pending
 * at `t` become indeterminate. If the full history is linearizable so is every such prefix (a
 * completed operation is linearized before `t`, so it depends on nothing called later); hence the
 * earliest illegal prefix is a sound, shorter witness.
 */
const prefixAt = (ops: readonly KvOperation[], t: number): KvOperation[] =>
  ops
    .filter((op) => op.call <= t && (op.ret <= t || op.input.op !== "read"))
    .map((op) => (op.ret <= t ? op : { ...op, output: null, ret: Infinity }))

const earliestIllegalPrefix = (ops: readonly KvOperation[], budget: Budget): KvOperation[] => {
  const times = [...new Set(ops.filter((op) => op.ret !== Infinity).map((op) => op.ret))].sort(
    (a, b) => a - b,
  )
  let lo = 0
  let hi = times.length - 1
  let best = [...ops]
  while (lo <= hi) {
    const mid = (lo + hi) >> 1
    const prefix = prefixAt(ops, times[mid]!)
    if (checkOperations(registerModel, prefix, budget).kind === "illegal") {
      best = prefix
      hi = mid - 1
    } else lo = mid + 1
  }
  return best
}

const shrink = (ops: readonly KvOperation[], budget: Budget): KvOperation[] =>
  dropNeutral(earliestIllegalPrefix(ops, budget), budget)

const reportLimit = 40
const maxShrinkAttempts = 150

export const describeOp = (op: KvOperation): string => {
  const t = (x: number) => (x === Infinity ? "∞" : String(x))
  const inp = op.input
  const call =
    inp.op === "read"
      ? `read(${inp.key})`
      : inp.op === "write"
        ? `write(${inp.key}, ${inp.value})`
        : `cas(${inp.key}, ${inp.expected ?? "∅"} → ${inp.value})`
  const out = op.output
  const result =
    out === null ? "?" : out.op === "read" ? (out.value ?? "∅") : out.op === "cas" ? String(out.ok) : "ok"
  return `#${op.id} c${op.client} [${t(op.call)}, ${t(op.ret)}] ${call} → ${result}`
}

/** Check a whole KV history. Partitions are checked in key order, so results are deterministic. */
export const checkKvHistory = (ops: readonly KvOperation[], budget: Budget = defaultBudget): CheckResult => {
  for (const op of ops) validate(op)
  const parts = partitionByKey(ops)
  const unknownKeys: string[] = []
  for (const key of [...parts.keys()].sort()) {
    const part = parts.get(key)!
    const result = checkOperations(registerModel, part, budget)
    if (result.kind === "unknown") unknownKeys.push(key)
    if (result.kind !== "illegal") continue
    const minimal = shrink(part, { ...budget, maxSteps: Math.min(budget.maxSteps, 50_000) })
    const sorted = [...minimal].sort((a, b) => a.call - b.call || a.id - b.id)
    const again = checkOperations(registerModel, minimal, budget)
    const longest = again.kind === "illegal" ? again.longest : result.longest
    const shown = sorted.slice(-reportLimit)
    const info = [
      `key ${key}: no linearization of ${minimal.length} operations (of ${part.length} on this key)`,
      ...(shown.length < sorted.length ? [`  … ${sorted.length - shown.length} earlier operations`] : []),
      ...shown.map((op) => `  ${describeOp(op)}`),
      `  longest linearizable prefix: ${longest.map((id) => `#${id}`).join(" ") || "(none)"}`,
    ].join("\n")
    return { kind: "illegal", key, info }
  }
  return unknownKeys.length > 0 ? { kind: "unknown", keys: unknownKeys } : { kind: "ok" }
}
