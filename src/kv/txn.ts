/**
 * etcd 3.4's Txn: validate, evaluate every compare (nested ones included) against the state
 * at the start, run the put/range checks along the chosen path, then execute.
 */
import {
  type Compare,
  type KeyValue,
  KvError,
  type RequestOp,
  type ResponseOp,
  type TxnRequest,
  type TxnResponse,
} from "../../schemas/kv.ts"
import { compareBytes, EMPTY } from "./bytes.ts"
import { executeRange } from "./range.ts"
import { type KeySpan, keySpan, spanContains } from "./store.ts"
import type { WriteTxn } from "./write-txn.ts"

/** The branch taken by a txn and, in order, by each nested txn on that branch. */
interface TxnPath {
  readonly succeeded: boolean
  readonly children: readonly TxnPath[]
}

const ZERO_KV: KeyValue = {
  key: EMPTY,
  createRevision: 0,
  modRevision: 0,
  version: 0,
  value: EMPTY,
  lease: 0n,
}

/** -1, 0 or 1: an int64 field against an int64 operand (exact beyond 2^53, as in etcd). */
const sign = (field: bigint, operand: bigint | undefined): number => {
  const o = operand ?? 0n
  return field < o ? -1 : field > o ? 1 : 0
}

const compareKv = (c: Compare, kv: KeyValue): boolean => {
  let result: number
  switch (c.target) {
    case "VALUE":
      result = compareBytes(kv.value, c.value ?? EMPTY)
      break
    case "VERSION":
      result = sign(BigInt(kv.version), c.operand)
      break
    case "CREATE":
      result = sign(BigInt(kv.createRevision), c.operand)
      break
    case "MOD":
      result = sign(BigInt(kv.modRevision), c.operand)
      break
    case "LEASE":
      result = sign(kv.lease, c.operand)
      break
  }
  switch (c.result) {
    case "EQUAL":
      return result === 0
    case "NOT_EQUAL":
      return result !== 0
    case "GREATER":
      return result > 0
    case "LESS":
      return result < 0
  }
}

const applyCompare = (tx: WriteTxn, c: Compare): boolean => {
  const kvs =
    tx.tenant === undefined ? [] : tx.store.live(tx.tenant, keySpan(c.key, c.rangeEnd), tx.readRev, 0)
  // A missing key has no value to compare: VALUE compares on it always fail.
  if (kvs.length === 0) return c.target !== "VALUE" && compareKv(c, ZERO_KV)
  return kvs.every((kv) => compareKv(c, kv))
}

const branch = (r: TxnRequest, succeeded: boolean): readonly RequestOp[] =>
  succeeded ? r.success : r.failure

const comparePath = (tx: WriteTxn, r: TxnRequest): TxnPath => {
  const succeeded = r.compare.every((c) => applyCompare(tx, c))
  const children: TxnPath[] = []
  for (const op of branch(r, succeeded)) if (op.type === "txn") children.push(comparePath(tx, op.request))
  return { succeeded, children }
}

/** Visits the non-txn ops along the chosen path, in etcd's order; stops at the first error. */
const checkPath = (
  r: TxnRequest,
  path: TxnPath,
  check: (op: RequestOp) => KvError | undefined,
): KvError | undefined => {
  let child = 0
  for (const op of branch(r, path.succeeded)) {
    const e = op.type === "txn" ? checkPath(op.request, path.children[child++]!, check) : check(op)
    if (e) return e
  }
  return undefined
}

/**
 * A put with ignore_value or ignore_lease needs its key live at the start (etcd's check phase)
 * and still live when the put runs. etcd finds the second case only mid-apply, and panics; this
 * walks the path's writes first, so such a txn fails whole with KeyNotFound before anything is
 * written: an earlier put of the key keeps it live, an earlier delete covering it does not.
 */
const ignoreTargetDeleted = (r: TxnRequest, path: TxnPath): KvError | undefined => {
  const writes: Array<{ readonly put: Uint8Array } | { readonly deleted: KeySpan }> = []
  return checkPath(r, path, (op) => {
    if (op.type === "deleteRange") writes.push({ deleted: keySpan(op.request.key, op.request.rangeEnd) })
    if (op.type !== "put") return undefined
    const p = op.request
    if (p.ignoreValue || p.ignoreLease)
      for (let i = writes.length - 1; i >= 0; i--) {
        const w = writes[i]!
        if ("put" in w) {
          if (compareBytes(w.put, p.key) === 0) break
        } else if (spanContains(w.deleted, p.key)) return new KvError("KeyNotFound")
      }
    writes.push({ put: p.key })
    return undefined
  })
}

export interface TxnChecks {
  readonly leaseExists: (lease: bigint) => boolean
}

const execute = (tx: WriteTxn, r: TxnRequest, path: TxnPath, top: boolean): TxnResponse => {
  let child = 0
  const responses: ResponseOp[] = []
  for (const op of branch(r, path.succeeded)) {
    switch (op.type) {
      case "range": {
        const resp = executeRange(tx.store, tx.tenant, op.request, tx.readRev, tx.compactRev)
        if (resp instanceof KvError) throw new Error(`unexpected range error inside txn: ${resp.message}`)
        responses.push({ type: "range", response: resp })
        break
      }
      case "put":
        responses.push({ type: "put", response: tx.put(op.request) })
        break
      case "deleteRange":
        responses.push({ type: "deleteRange", response: tx.deleteRange(op.request) })
        break
      case "txn":
        responses.push({ type: "txn", response: execute(tx, op.request, path.children[child++]!, false) })
        break
    }
  }
  // etcd leaves a nested txn's header empty; the top one carries the final revision.
  return { header: { revision: top ? tx.readRev : 0 }, succeeded: path.succeeded, responses }
}

/** Runs a txn that already passed `checkTxn`. */
export const runTxn = (
  tx: WriteTxn,
  r: TxnRequest,
  readOnly: boolean,
  checks: TxnChecks,
): TxnResponse | KvError => {
  const path = comparePath(tx, r)
  if (!readOnly) {
    const bad = checkPath(r, path, (op) => {
      if (op.type !== "put") return undefined
      const p = op.request
      if ((p.ignoreValue || p.ignoreLease) && tx.liveKv(p.key) === undefined)
        return new KvError("KeyNotFound")
      const lease = p.lease ?? 0n
      if (lease !== 0n && !checks.leaseExists(lease)) return new KvError("LeaseNotFound")
      return undefined
    })
    if (bad) return bad
  }
  // etcd's checkRequestRange compares the raw revision (a negative one counts as compacted).
  const badRange = checkPath(r, path, (op) => {
    const rev = op.type === "range" ? (op.request.revision ?? 0) : 0
    if (rev === 0) return undefined
    if (rev > tx.beginRev) return new KvError("FutureRev")
    if (rev < tx.compactRev) return new KvError("Compacted")
    return undefined
  })
  if (badRange) return badRange
  if (!readOnly) {
    const gone = ignoreTargetDeleted(r, path)
    if (gone) return gone
  }
  return execute(tx, r, path, true)
}
