/**
 * Request checks that etcd runs before a request is proposed (v3rpc `checkTxnRequest`,
 * `checkIntervals`, …). The state machine runs them again at apply time, so a command that
 * skipped the API layer still gets etcd's answer and never corrupts state.
 */
import {
  type DeleteRangeRequest,
  KvError,
  type PutRequest,
  type RangeRequest,
  type RequestOp,
  type TxnRequest,
} from "../../schemas/kv.ts"
import { bytesKey, compareBytes } from "./bytes.ts"

/** etcd's default `--max-txn-ops`. */
export const MAX_TXN_OPS = 128

export const checkRange = (r: RangeRequest): KvError | undefined =>
  r.key.length === 0 ? new KvError("EmptyKey") : undefined

export const checkDelete = (r: DeleteRangeRequest): KvError | undefined =>
  r.key.length === 0 ? new KvError("EmptyKey") : undefined

export const checkPut = (r: PutRequest): KvError | undefined => {
  if (r.key.length === 0) return new KvError("EmptyKey")
  if (r.ignoreValue && (r.value?.length ?? 0) !== 0) return new KvError("ValueProvided")
  if (r.ignoreLease && (r.lease ?? 0n) !== 0n) return new KvError("LeaseProvided")
  return undefined
}

const checkOp = (op: RequestOp, maxTxnOps: number): KvError | undefined => {
  switch (op.type) {
    case "range":
      return checkRange(op.request)
    case "put":
      return checkPut(op.request)
    case "deleteRange":
      return checkDelete(op.request)
    case "txn":
      return checkTxnShape(op.request, maxTxnOps)
  }
}

/** The op budget is per list (the longest of compare/success/failure); nested txns get what is left. */
const checkTxnShape = (r: TxnRequest, maxTxnOps: number): KvError | undefined => {
  const opc = Math.max(r.compare.length, r.success.length, r.failure.length)
  if (opc > maxTxnOps) return new KvError("TooManyOps")
  for (const c of r.compare) if (c.key.length === 0) return new KvError("EmptyKey")
  for (const op of r.success) {
    const e = checkOp(op, maxTxnOps - opc)
    if (e) return e
  }
  for (const op of r.failure) {
    const e = checkOp(op, maxTxnOps - opc)
    if (e) return e
  }
  return undefined
}

/** A delete's key interval; a point when range_end is empty. Half-open, bytewise. */
interface Interval {
  readonly begin: Uint8Array
  readonly end: Uint8Array | undefined
}

const intersectsPoint = (iv: Interval, k: Uint8Array): boolean => {
  if (iv.end === undefined) return compareBytes(iv.begin, k) === 0
  // etcd's affine interval: begin <= k < end. A "\0" or inverted end intersects nothing.
  return compareBytes(iv.begin, k) <= 0 && compareBytes(k, iv.end) < 0
}

interface Seen {
  readonly puts: Map<string, Uint8Array>
  readonly dels: Interval[]
}

const hits = (dels: readonly Interval[], k: Uint8Array): boolean => dels.some((iv) => intersectsPoint(iv, k))

/**
 * etcd's `checkIntervals`, reproduced rule for rule (including what it lets through, such as a
 * put in one nested txn followed by a delete of the same key in a later nested txn).
 */
const checkIntervals = (reqs: readonly RequestOp[]): Seen | KvError => {
  const dels: Interval[] = []
  for (const op of reqs) {
    if (op.type !== "deleteRange") continue
    const end = op.request.rangeEnd
    dels.push({ begin: op.request.key, end: end !== undefined && end.length > 0 ? end : undefined })
  }
  const puts = new Map<string, Uint8Array>()
  for (const op of reqs) {
    if (op.type !== "txn") continue
    const then = checkIntervals(op.request.success)
    if (then instanceof KvError) return then
    const otherwise = checkIntervals(op.request.failure)
    if (otherwise instanceof KvError) return otherwise
    for (const [k, key] of then.puts) {
      if (puts.has(k) || hits(dels, key)) return new KvError("DuplicateKey")
      puts.set(k, key)
    }
    for (const [k, key] of otherwise.puts) {
      // then/else are exclusive: the same key in both branches of one txn is fine.
      if (puts.has(k) && !then.puts.has(k)) return new KvError("DuplicateKey")
      if (hits(dels, key)) return new KvError("DuplicateKey")
      puts.set(k, key)
    }
    dels.push(...then.dels, ...otherwise.dels)
  }
  for (const op of reqs) {
    if (op.type !== "put") continue
    const key = op.request.key
    const k = bytesKey(key)
    if (puts.has(k) || hits(dels, key)) return new KvError("DuplicateKey")
    puts.set(k, key)
  }
  return { puts, dels }
}

/** Everything etcd checks about a txn before proposing it, in etcd's order. */
export const checkTxn = (r: TxnRequest, maxTxnOps = MAX_TXN_OPS): KvError | undefined => {
  const shape = checkTxnShape(r, maxTxnOps)
  if (shape) return shape
  const s = checkIntervals(r.success)
  if (s instanceof KvError) return s
  const f = checkIntervals(r.failure)
  if (f instanceof KvError) return f
  return undefined
}

/** A txn is read-only when neither branch (at any depth) holds a put or a delete. */
export const isTxnReadOnly = (r: TxnRequest): boolean => {
  const readOnly = (ops: readonly RequestOp[]): boolean =>
    ops.every((op) => op.type === "range" || (op.type === "txn" && isTxnReadOnly(op.request)))
  return readOnly(r.success) && readOnly(r.failure)
}
