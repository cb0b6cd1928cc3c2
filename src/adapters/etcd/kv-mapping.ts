/**
 * Conversions between the etcd wire messages (generated etcdserverpb types: bigint, numeric
 * enums, oneofs) and the MVCC state machine's types (`schemas/kv.ts`: numbers, string enums,
 * tagged unions), plus KvError → EtcdError. The node's EtcdBackend uses these around
 * KvStateMachine.
 */
import * as kv from "../../../schemas/kv.ts"
import { EtcdError, toEtcdError } from "./errors.ts"
import type * as pb from "./proto/etcd.gen.ts"

const MAX = BigInt(Number.MAX_SAFE_INTEGER)

/**
 * int64 → number. Values beyond 2^53 are clamped: no revision or count gets there, and a clamped
 * revision still reads as a future one.
 */
export const toNumber = (v: bigint | undefined): number =>
  v === undefined ? 0 : v > MAX ? Number.MAX_SAFE_INTEGER : v < -MAX ? -Number.MAX_SAFE_INTEGER : Number(v)

const SORT_ORDER: readonly kv.SortOrder[] = ["NONE", "ASCEND", "DESCEND"]
const SORT_TARGET: readonly kv.SortTarget[] = ["KEY", "VERSION", "CREATE", "MOD", "VALUE"]
const COMPARE_TARGET: readonly kv.CompareTarget[] = ["VERSION", "CREATE", "MOD", "VALUE", "LEASE"]
const COMPARE_RESULT: readonly kv.CompareResult[] = ["EQUAL", "GREATER", "LESS", "NOT_EQUAL"]

/** An enum value outside etcd's set is rejected, as etcd's apply would find no such target. */
const pick = <T>(table: readonly T[], v: number | undefined, what: string): T => {
  const x = table[v ?? 0]
  if (x === undefined) throw new EtcdError(3, `etcdserver: unknown ${what} ${v}`)
  return x
}

const EMPTY = new Uint8Array(0)

export const toKvRange = (r: pb.RangeRequest): kv.RangeRequest => ({
  key: r.key ?? EMPTY,
  rangeEnd: r.rangeEnd,
  limit: toNumber(r.limit),
  revision: toNumber(r.revision),
  // etcd ignores sort values it does not know rather than failing the read.
  sortOrder: SORT_ORDER[r.sortOrder ?? 0] ?? "NONE",
  sortTarget: SORT_TARGET[r.sortTarget ?? 0] ?? "KEY",
  serializable: r.serializable,
  keysOnly: r.keysOnly,
  countOnly: r.countOnly,
  minModRevision: toNumber(r.minModRevision),
  maxModRevision: toNumber(r.maxModRevision),
  minCreateRevision: toNumber(r.minCreateRevision),
  maxCreateRevision: toNumber(r.maxCreateRevision),
})

export const toKvPut = (r: pb.PutRequest): kv.PutRequest => ({
  key: r.key ?? EMPTY,
  value: r.value,
  lease: r.lease ?? 0n,
  prevKv: r.prevKv,
  ignoreValue: r.ignoreValue,
  ignoreLease: r.ignoreLease,
})

export const toKvDelete = (r: pb.DeleteRangeRequest): kv.DeleteRangeRequest => ({
  key: r.key ?? EMPTY,
  rangeEnd: r.rangeEnd,
  prevKv: r.prevKv,
})

/** etcd reads the operand that matches `target`; any other member of the oneof counts as 0. */
export const toKvCompare = (c: pb.Compare): kv.Compare => {
  const target = pick(COMPARE_TARGET, c.target, "compare target")
  const operand =
    target === "VERSION"
      ? c.version
      : target === "CREATE"
        ? c.createRevision
        : target === "MOD"
          ? c.modRevision
          : target === "LEASE"
            ? c.lease
            : undefined
  return {
    key: c.key ?? EMPTY,
    rangeEnd: c.rangeEnd,
    target,
    result: pick(COMPARE_RESULT, c.result, "compare result"),
    value: target === "VALUE" ? (c.value ?? EMPTY) : undefined,
    operand: operand ?? 0n,
  }
}

export const toKvRequestOp = (op: pb.RequestOp): kv.RequestOp => {
  if (op.requestRange !== undefined) return { type: "range", request: toKvRange(op.requestRange) }
  if (op.requestPut !== undefined) return { type: "put", request: toKvPut(op.requestPut) }
  if (op.requestDeleteRange !== undefined)
    return { type: "deleteRange", request: toKvDelete(op.requestDeleteRange) }
  if (op.requestTxn !== undefined) return { type: "txn", request: toKvTxn(op.requestTxn) }
  // etcd's checkRequestOp answers an empty op with "key not found".
  throw new EtcdError(3, kv.KV_ERRORS.KeyNotFound.message)
}

export const toKvTxn = (r: pb.TxnRequest): kv.TxnRequest => ({
  compare: (r.compare ?? []).map(toKvCompare),
  success: (r.success ?? []).map(toKvRequestOp),
  failure: (r.failure ?? []).map(toKvRequestOp),
})

export const toKvCompaction = (r: pb.CompactionRequest): kv.CompactionRequest => ({
  revision: toNumber(r.revision),
  physical: r.physical,
})

// --- responses ---

/** A nested header with revision 0 stays empty, as etcd leaves it. */
export const fromKvHeader = (h: kv.ResponseHeader): pb.ResponseHeader =>
  h.revision === 0 ? {} : { revision: BigInt(h.revision) }

export const fromKvKeyValue = (x: kv.KeyValue): pb.KeyValue => ({
  key: x.key,
  createRevision: BigInt(x.createRevision),
  modRevision: BigInt(x.modRevision),
  version: BigInt(x.version),
  value: x.value,
  lease: x.lease,
})

export const fromKvRange = (r: kv.RangeResponse): pb.RangeResponse => ({
  header: fromKvHeader(r.header),
  kvs: r.kvs.map(fromKvKeyValue),
  more: r.more,
  count: BigInt(r.count),
})

export const fromKvPut = (r: kv.PutResponse): pb.PutResponse => ({
  header: fromKvHeader(r.header),
  prevKv: r.prevKv === undefined ? undefined : fromKvKeyValue(r.prevKv),
})

export const fromKvDelete = (r: kv.DeleteRangeResponse): pb.DeleteRangeResponse => ({
  header: fromKvHeader(r.header),
  deleted: BigInt(r.deleted),
  prevKvs: r.prevKvs.map(fromKvKeyValue),
})

export const fromKvResponseOp = (op: kv.ResponseOp): pb.ResponseOp => {
  switch (op.type) {
    case "range":
      return { responseRange: fromKvRange(op.response) }
    case "put":
      return { responsePut: fromKvPut(op.response) }
    case "deleteRange":
      return { responseDeleteRange: fromKvDelete(op.response) }
    case "txn":
      return { responseTxn: fromKvTxn(op.response) }
  }
}

export const fromKvTxn = (r: kv.TxnResponse): pb.TxnResponse => ({
  header: fromKvHeader(r.header),
  succeeded: r.succeeded,
  responses: r.responses.map(fromKvResponseOp),
})

export const fromKvCompaction = (r: kv.CompactionResponse): pb.CompactionResponse => ({
  header: fromKvHeader(r.header),
})

export const kvErrorToEtcd = (e: kv.KvError): EtcdError => toEtcdError(e)

/** A state machine outcome as the etcd response of the given type, or a thrown EtcdError. */
type ResponseOf<T extends kv.KvResponse["type"]> = Extract<kv.KvResponse, { type: T }>["response"]

export const unwrapOutcome = <T extends kv.KvResponse["type"]>(
  outcome: kv.KvOutcome,
  type: T,
): ResponseOf<T> => {
  if (!outcome.ok) throw kvErrorToEtcd(outcome.error)
  if (outcome.response.type !== type) {
    throw new Error(`state machine answered ${outcome.response.type} to a ${type} command`)
  }
  const response: unknown = outcome.response.response
  return response as ResponseOf<T>
}
