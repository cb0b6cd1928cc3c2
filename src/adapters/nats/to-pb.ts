/** NATS API requests (schemas/nats-api.ts) to the etcd adapter's protobuf types. */
import type * as api from "../../../schemas/nats-api.ts"
import type * as pb from "../etcd/proto/etcd.gen.ts"

const SORT_ORDER = { NONE: 0, ASCEND: 1, DESCEND: 2 } as const
const SORT_TARGET = { KEY: 0, VERSION: 1, CREATE: 2, MOD: 3, VALUE: 4 } as const
const COMPARE_RESULT = { EQUAL: 0, GREATER: 1, LESS: 2, NOT_EQUAL: 3 } as const
const COMPARE_TARGET = { VERSION: 0, CREATE: 1, MOD: 2, VALUE: 3, LEASE: 4 } as const

export const rangeToPb = (r: api.RangeRequest): pb.RangeRequest => ({
  key: r.key,
  rangeEnd: r.range_end ?? new Uint8Array(),
  limit: r.limit ?? 0n,
  revision: r.revision ?? 0n,
  sortOrder: SORT_ORDER[r.sort_order ?? "NONE"],
  sortTarget: SORT_TARGET[r.sort_target ?? "KEY"],
  serializable: r.serializable ?? false,
  keysOnly: r.keys_only ?? false,
  countOnly: r.count_only ?? false,
  minModRevision: r.min_mod_revision ?? 0n,
  maxModRevision: r.max_mod_revision ?? 0n,
  minCreateRevision: r.min_create_revision ?? 0n,
  maxCreateRevision: r.max_create_revision ?? 0n,
})

export const putToPb = (r: api.PutRequest): pb.PutRequest => ({
  key: r.key,
  value: r.value ?? new Uint8Array(),
  lease: r.lease ?? 0n,
  prevKv: r.prev_kv ?? false,
  ignoreValue: r.ignore_value ?? false,
  ignoreLease: r.ignore_lease ?? false,
})

export const deleteToPb = (r: api.DeleteRangeRequest): pb.DeleteRangeRequest => ({
  key: r.key,
  rangeEnd: r.range_end ?? new Uint8Array(),
  prevKv: r.prev_kv ?? false,
})

/** The compared field follows `target`, as in etcd: the other value fields are ignored. */
const compareToPb = (c: api.Compare): pb.Compare => {
  const target = c.target ?? "VERSION"
  const base: pb.Compare = {
    key: c.key,
    rangeEnd: c.range_end ?? new Uint8Array(),
    result: COMPARE_RESULT[c.result ?? "EQUAL"],
    target: COMPARE_TARGET[target],
  }
  switch (target) {
    case "VERSION":
      return { ...base, version: c.version ?? 0n }
    case "CREATE":
      return { ...base, createRevision: c.create_revision ?? 0n }
    case "MOD":
      return { ...base, modRevision: c.mod_revision ?? 0n }
    case "VALUE":
      return { ...base, value: c.value ?? new Uint8Array() }
    case "LEASE":
      return { ...base, lease: c.lease ?? 0n }
  }
}

const requestOpToPb = (op: api.RequestOp): pb.RequestOp => {
  if ("request_range" in op) return { requestRange: rangeToPb(op.request_range) }
  if ("request_put" in op) return { requestPut: putToPb(op.request_put) }
  if ("request_delete_range" in op) return { requestDeleteRange: deleteToPb(op.request_delete_range) }
  return { requestTxn: txnToPb(op.request_txn) }
}

export const txnToPb = (r: api.TxnRequest): pb.TxnRequest => ({
  compare: (r.compare ?? []).map(compareToPb),
  success: (r.success ?? []).map(requestOpToPb),
  failure: (r.failure ?? []).map(requestOpToPb),
})

export const compactToPb = (r: api.CompactionRequest): pb.CompactionRequest => ({
  revision: r.revision,
  physical: r.physical ?? false,
})
